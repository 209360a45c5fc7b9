package dev.ptwalk.samples.driver;

/**
 * How a {@link DirtyTrackingDriver} finds the pages dirtied since its last sync. The built-in
 * ones are the {@link DirtyTrackingDriver.SyncMode}s; tests plug in deliberately broken ones.
 */
@FunctionalInterface
public interface SyncStrategy {
  /**
   * Collect the buffer's dirty pages into {@code bitmap} (bit {@code n} for buffer page {@code
   * n}), running under the driver's lock. The driver then copies those pages (and the ones its
   * mkwrite hook recorded) to the device.
   *
   * @return PTEs changed
   */
  long collect(DirtyTrackingDriver driver, long[] bitmap);
}
