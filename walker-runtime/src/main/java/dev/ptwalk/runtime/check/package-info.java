/**
 * Marks on runtime methods that ptwalk's compile-time checks key on: which calls open and close a
 * notifier bracket, change a PTE, flush a TLB, count a pending flush, or transform a PTE value.
 * The processor reads them by name and never loads this package.
 */
package dev.ptwalk.runtime.check;
