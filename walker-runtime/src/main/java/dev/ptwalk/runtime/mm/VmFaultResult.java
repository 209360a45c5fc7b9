package dev.ptwalk.runtime.mm;

/**
 * The outcome of a fault handler or an mkwrite hook: the kernel's {@code vm_fault_t} codes that
 * this model distinguishes.
 */
public enum VmFaultResult {
  /** Success: the PTE is (or will be) installed, retry the access. */
  OK,
  /** {@code VM_FAULT_SIGBUS}: no page here; the access gets SIGBUS. */
  SIGBUS,
  /** {@code VM_FAULT_SIGSEGV}: the access gets SIGSEGV. */
  SIGSEGV,
  /**
   * {@code VM_FAULT_RETRY} from {@code handle_userfault}: the fault was delivered to a sync
   * userfaultfd; {@link Memory#handleUserFault} drops the mmap lock, waits for the reader and
   * retries. Only {@link Memory#handleMmFault} returns it.
   */
  RETRY
}
