package dev.ptwalk.tests.syscalls;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code pmscan --probe} found on this machine: whether the kernel has async uffd-wp and
 * {@code PAGEMAP_SCAN}, and the settings that recorded outputs depend on.
 */
public final class KernelFeatures {
  /**
   * The probe keys whose values must be the same as when outputs were recorded: swap makes
   * {@code MADV_PAGEOUT} swap anonymous pages out, soft-dirty adds {@code SOFT_DIRTY} and pagemap
   * {@code D}, a kernel without the unpopulated-pte fix reports {@code pte_none} pages
   * differently, shmem THP {@code force} overrides {@code MADV_NOHUGEPAGE}, and the
   * {@code extfile} kind needs a disk file system of the same kind.
   */
  static final List<String> RECORDING_KEYS =
      List.of("swap", "soft_dirty", "pte_none_written", "shmem_thp", "extfile_dir");

  private final Optional<String> unsupported;
  private final Map<String, String> values;

  private KernelFeatures(Optional<String> unsupported, Map<String, String> values) {
    this.unsupported = unsupported;
    this.values = values;
  }

  /** Runs the probe. */
  public static KernelFeatures probe(KernelTraceRunner runner) throws IOException {
    return fromProbeResult(runner.probe());
  }

  /** Features from what {@code pmscan --probe} printed and its exit status. */
  static KernelFeatures fromProbeResult(KernelTraceRunner.Result r) throws IOException {
    if (r.exitStatus() == 3 && r.stdout().startsWith("unsupported ")) {
      String reason = r.stdout().strip().substring("unsupported ".length());
      return new KernelFeatures(Optional.of(reason), Map.of());
    }
    if (r.exitStatus() != 0) {
      throw new IOException("pmscan --probe exited with status " + r.exitStatus() + ": "
          + r.stdout() + r.stderr());
    }
    return fromProbe(r.stdout());
  }

  /** Features from the text of a successful probe. */
  static KernelFeatures fromProbe(String text) {
    return new KernelFeatures(Optional.empty(), parse(text));
  }

  /** "key value" lines, as the probe prints them and {@code recorded/PROBE.txt} keeps them. */
  static Map<String, String> parse(String text) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String line : text.lines().toList()) {
      int sp = line.indexOf(' ');
      if (!line.isBlank() && !line.startsWith("#")) {
        m.put(sp < 0 ? line : line.substring(0, sp), sp < 0 ? "" : line.substring(sp + 1));
      }
    }
    return m;
  }

  /** Why this kernel cannot run traces (no async uffd-wp or no PAGEMAP_SCAN), if it cannot. */
  public Optional<String> unsupported() {
    return unsupported;
  }

  /** A probe value such as {@code swap} → {@code off}. */
  public Optional<String> get(String key) {
    return Optional.ofNullable(values.get(key));
  }

  /** How many CPUs this process may run on. */
  public int cpus() {
    return Integer.parseInt(values.getOrDefault("cpus", "0"));
  }

  /**
   * Where this machine differs from the one that recorded {@code recordedProbe} in a setting
   * the outputs depend on, if it does.
   */
  public Optional<String> differsFromRecording(Map<String, String> recordedProbe) {
    StringBuilder sb = new StringBuilder();
    for (String key : RECORDING_KEYS) {
      String then = recordedProbe.get(key);
      String now = values.get(key);
      if (key.equals("shmem_thp")) {
        then = "force".equals(then) ? "force" : "not force";
        now = "force".equals(now) ? "force" : "not force";
      }
      if (key.equals("extfile_dir")) {
        then = then == null ? null : then.substring(then.lastIndexOf(' ') + 1);
        now = now == null ? null : now.substring(now.lastIndexOf(' ') + 1);
      }
      if (then != null && !then.equals(now)) {
        sb.append(sb.length() == 0 ? "" : ", ").append(key).append(" was ").append(then)
            .append(" when recorded and is ").append(now).append(" here");
      }
    }
    return sb.length() == 0 ? Optional.empty() : Optional.of(sb.toString());
  }

  @Override
  public String toString() {
    return unsupported.map(u -> "unsupported: " + u).orElse(values.toString());
  }
}
