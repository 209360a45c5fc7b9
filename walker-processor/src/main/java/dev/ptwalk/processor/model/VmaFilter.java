package dev.ptwalk.processor.model;

/** Which VMAs a walker visits: the kind's {@code test_walk}. */
public enum VmaFilter {
  /**
   * The seed's {@code apply_as_range}: skip VMAs that are not {@code VM_SHARED | VM_WRITE};
   * {@code WARN_ON} and skip {@code VM_HUGETLB} or non-{@code VM_IO} ones.
   */
  SHARED_WRITABLE_IO("only VM_SHARED|VM_WRITE VMAs; VM_HUGETLB or non-VM_IO ones are skipped with"
      + " a warning"),
  /** {@code clear_refs_test_walk}: skip {@code VM_PFNMAP} VMAs. */
  NOT_PFNMAP("every VMA but VM_PFNMAP ones"),
  /**
   * {@code pagemap_scan_test_walk} with {@code PM_SCAN_WP_MATCHING} and without {@code
   * PM_SCAN_CHECK_WPASYNC}: silently skip VMAs not registered for async uffd-wp with markers, and
   * {@code VM_PFNMAP} ones.
   */
  UFFD_WP_ASYNC("only VMAs registered for async uffd-wp (others silently skipped), not VM_PFNMAP"),
  /** The aging walkers' {@code should_skip_vma}: skip {@code VM_PFNMAP} and {@code VM_IO}. */
  NOT_PFNMAP_OR_IO("every VMA but VM_PFNMAP and VM_IO ones"),
  /** {@code madvise_free_single_vma}: only private anonymous VMAs. */
  PRIVATE_ANON("only private anonymous VMAs");

  private final String description;

  VmaFilter(String description) {
    this.description = description;
  }

  /** Which VMAs pass, in words, for javadoc and README. */
  public String description() {
    return description;
  }
}
