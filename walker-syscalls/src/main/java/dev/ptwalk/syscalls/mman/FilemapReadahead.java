package dev.ptwalk.syscalls.mman;

import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.Folio;
import dev.ptwalk.runtime.mm.VmFault;
import dev.ptwalk.runtime.mm.VmFaultResult;
import dev.ptwalk.runtime.mm.VmOperations;

/**
 * The hooks of a file on a disk file system: {@code filemap_fault} with its synchronous mmap
 * read-around, and {@code filemap_map_pages}.
 *
 * <p>Mirrors {@code filemap_fault} and {@code do_sync_mmap_readahead} of {@code mm/filemap.c}
 * with the read-around of {@code mm/readahead.c} ({@code page_cache_ra_order}, clipped to {@code
 * i_size} as {@code do_page_cache_ra} clips it): a fault on a page not in the page cache first
 * reads {@code ra_pages} pages starting {@code ra_pages / 2} before it into the page cache, then
 * retries. The disk itself is not modelled: a page read in is zeroed, as the holes of a file just
 * sized with {@code ftruncate} read. The per-file {@code mmap_miss} counter is kept: past {@link
 * #MMAP_LOTSAMISS} misses, read-around stops. Not modelled: the asynchronous read-ahead and the
 * {@code PG_readahead} marks read-ahead sets itself, and large folios (ext4 has had them since
 * Linux 6.16; here every folio is one page).
 */
final class FilemapReadahead implements VmOperations {
  /** {@code MMAP_LOTSAMISS}: misses after which a file's mmap read-around stops. */
  static final int MMAP_LOTSAMISS = 100;

  private final long sizePages;
  private final long raPages;
  private int mmapMiss;

  FilemapReadahead(long sizePages, long raPages) {
    if (raPages < 0) {
      throw new IllegalArgumentException("read-ahead is >= 0 pages, was " + raPages);
    }
    this.sizePages = sizePages;
    this.raPages = raPages;
  }

  /**
   * {@code filemap_fault}: on a page-cache miss, {@code do_sync_mmap_readahead}, which gives up
   * the mmap lock for the I/O ({@code maybe_unlock_mmap_for_io}), so the fault returns {@link
   * VmFaultResult#RETRY} and the access faults again, now finding the pages read in (a read fault
   * then maps them around itself); on a hit, a folio marked {@code PG_readahead} has the mark
   * cleared ({@code do_async_mmap_readahead}; the asynchronous read-ahead it starts is not
   * modelled), and the page is mapped. A page at or past {@code i_size} is a SIGBUS.
   */
  @Override
  public synchronized VmFaultResult fault(VmFault vmf) {
    AddressSpace mapping = vmf.vma().mapping();
    long pgoff = vmf.pgoff();
    if (pgoff >= sizePages) {
      return VmFaultResult.SIGBUS;
    }
    long pfn = mapping.findPage(pgoff);
    if (pfn < 0) {
      if (doSyncMmapReadahead(mapping, pgoff)) {
        return VmFaultResult.RETRY;
      }
      pfn = mapping.findOrCreatePage(pgoff);
    } else {
      Folio folio = vmf.vma().mm().machine().physMem().folio(pfn);
      if (folio != null) {
        folio.testClearReclaim();
      }
    }
    vmf.setPfn(pfn);
    return VmFaultResult.OK;
  }

  /**
   * {@code do_sync_mmap_readahead} with neither {@code VM_RAND_READ} nor {@code VM_SEQ_READ}: count
   * the miss and, unless the file misses too much, read {@code ra_pages} pages around the page
   * into the page cache (zeroed: the disk is not modelled, and a page of these files that was
   * never written holds zeroes).
   *
   * @return whether it read around (and so dropped the mmap lock)
   */
  private boolean doSyncMmapReadahead(AddressSpace mapping, long pgoff) {
    if (raPages == 0) {
      return false;
    }
    if (mmapMiss < MMAP_LOTSAMISS * 10) {
      mmapMiss++;
    }
    if (mmapMiss > MMAP_LOTSAMISS) {
      return false;
    }
    long start = Math.max(0, pgoff - raPages / 2);
    long end = Math.min(start + raPages, sizePages);
    for (long index = start; index < end; index++) {
      mapping.findOrCreatePage(index);
    }
    return true;
  }

  @Override
  public boolean hasMapPages() {
    return true;
  }

  @Override
  public boolean mapPages(VmFault vmf, long startPgoff, long endPgoff) {
    return VmOperations.FILEMAP.mapPages(vmf, startPgoff, endPgoff);
  }
}
