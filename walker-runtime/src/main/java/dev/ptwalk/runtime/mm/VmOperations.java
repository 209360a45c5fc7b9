package dev.ptwalk.runtime.mm;

/**
 * A VMA's {@code vm_operations_struct}: the driver or filesystem hooks the fault paths call.
 *
 * <p>Every hook has the behaviour of a plain page-cache file by default. A dirty-tracking driver
 * overrides {@link #pfnMkwrite} or {@link #pageMkwrite} to learn of the first write to a
 * write-protected page, and returns true from {@link #wantsWriteNotify()} so that read faults map
 * pages read-only and the first write faults again.
 */
public interface VmOperations {
  /** Plain page-cache behaviour for every hook, without {@code ->map_pages} (no fault-around). */
  VmOperations DEFAULT = new VmOperations() {};

  /**
   * Page-cache behaviour with {@code ->map_pages} ({@code filemap_map_pages}), as the {@code
   * vm_operations_struct} of shmem, tmpfs, memfd and disk files have it: a read fault in a VMA not
   * registered with userfaultfd first maps the neighbouring pages already cached ({@code
   * do_fault_around}, {@link Memory#FAULT_AROUND_PAGES} pages), and faults in only the page itself
   * when it was not among them.
   */
  VmOperations FILEMAP = new VmOperations() {
    @Override
    public boolean hasMapPages() {
      return true;
    }

    @Override
    public boolean mapPages(VmFault vmf, long startPgoff, long endPgoff) {
      return Memory.filemapMapPages(vmf, startPgoff, endPgoff);
    }
  };

  /**
   * {@code ->fault}: choose the page for {@code vmf} ({@link VmFault#setPfn}). By default, the
   * mapping's page cache ({@code filemap_fault}), or a fresh zeroed page for an anonymous VMA.
   * Called with the mmap lock held for read and no ptl. {@link VmFaultResult#RETRY} says the
   * handler gave up the lock for I/O ({@code maybe_unlock_mmap_for_io}, as read-ahead does): the
   * access is retried.
   */
  default VmFaultResult fault(VmFault vmf) {
    AddressSpace mapping = vmf.vma().mapping();
    PhysMem mem = vmf.vma().mm().machine().physMem();
    vmf.setPfn(mapping != null ? mapping.findOrCreatePage(vmf.pgoff()) : mem.allocPage());
    return VmFaultResult.OK;
  }

  /**
   * {@code ->page_mkwrite}: a page-backed shared page is about to become writable. Called without
   * the ptl; the caller rechecks the PTE afterwards. By default, allow it.
   */
  default VmFaultResult pageMkwrite(VmFault vmf) {
    return VmFaultResult.OK;
  }

  /**
   * {@code ->pfn_mkwrite}: a {@code VM_PFNMAP} or {@code VM_MIXEDMAP} page is about to become
   * writable. Called without the ptl; the caller rechecks the PTE afterwards. By default, allow it.
   */
  default VmFaultResult pfnMkwrite(VmFault vmf) {
    return VmFaultResult.OK;
  }

  /**
   * {@code vma_wants_writenotify}: whether the mkwrite hooks must see the first write to each
   * page. When true, read faults on a shared writable VMA map pages read-only. Default: false.
   */
  default boolean wantsWriteNotify() {
    return false;
  }

  /** Whether these hooks have {@code ->map_pages}, so read faults may fault around. Default: no. */
  default boolean hasMapPages() {
    return false;
  }

  /**
   * {@code ->map_pages}: map what is cheaply available of file pages {@code [startPgoff,
   * endPgoff]} around the fault {@code vmf}, under the mmap lock, taking each PTE table's ptl.
   * Called only when {@link #hasMapPages()}.
   *
   * @return whether the page of {@code vmf} itself got mapped ({@code VM_FAULT_NOPAGE}), so the
   *     fault is done
   */
  default boolean mapPages(VmFault vmf, long startPgoff, long endPgoff) {
    return false;
  }
}
