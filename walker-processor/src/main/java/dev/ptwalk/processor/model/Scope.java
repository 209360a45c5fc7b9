package dev.ptwalk.processor.model;

/** What a walker ranges over; mirrors {@code PteCallback.Scope} without its {@code DEFAULT}. */
public enum Scope {
  /**
   * File pages {@code [firstIndex, firstIndex + nr)} of an {@code address_space}, in every mm
   * that maps them: {@code walk_page_mapping} under {@code i_mmap_lock_read}.
   */
  MAPPING,
  /**
   * Virtual addresses {@code [start, end)} of one mm: {@code walk_page_range} under the kind's
   * mmap lock.
   */
  MM
}
