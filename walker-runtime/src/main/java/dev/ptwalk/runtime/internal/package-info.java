/**
 * Internals shared between the runtime's packages; not exported by the runtime's module and not
 * API.
 */
package dev.ptwalk.runtime.internal;
