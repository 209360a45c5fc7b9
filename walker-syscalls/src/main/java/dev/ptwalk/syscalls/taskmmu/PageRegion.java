package dev.ptwalk.syscalls.taskmmu;

/**
 * One run of pages {@code PAGEMAP_SCAN} reports: {@code [start, end)} with the returned
 * categories they share.
 *
 * <p>Mirrors {@code struct page_region} of {@code include/uapi/linux/fs.h}.
 *
 * @param start first address
 * @param end one past the last address
 * @param categories the {@code PAGE_IS_*} bits of the pages, masked by {@code return_mask}
 */
public record PageRegion(long start, long end, long categories) {}
