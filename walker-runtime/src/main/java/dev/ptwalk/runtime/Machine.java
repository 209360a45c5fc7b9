package dev.ptwalk.runtime;

import dev.ptwalk.runtime.cpu.Cpu;
import dev.ptwalk.runtime.cpu.HardwareModel;
import dev.ptwalk.runtime.debug.Verifier;
import dev.ptwalk.runtime.internal.RuntimeInternals;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.PhysMem;
import dev.ptwalk.runtime.pgtable.PagingMode;
import dev.ptwalk.runtime.trace.Trace;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One simulated x86-64 machine: its CPUs with their TLBs, physical memory, the mms (processes)
 * and address spaces (files) created on it, an optional trace and the verifier.
 *
 * <p>There is no kernel structure by this name; it is the context the kernel gets from globals
 * ({@code cpu_online_mask}, {@code mem_map}, lockdep). Everything else hangs off it, so two
 * machines never share state and tests can run side by side.
 *
 * <pre>{@code
 * Machine machine = Machine.builder().cpus(2).verify(true).trace(true).build();
 * MmStruct a = machine.newMm("A");
 * AddressSpace buf = machine.newAddressSpace("buf");
 * a.mmap(buf, 0x7f0000000000L, 16, 0, VM_READ | VM_WRITE | VM_SHARED | VM_IO);
 * machine.cpu(0).store(a, 0x7f0000000000L, 42);
 * }</pre>
 */
public final class Machine {
  private final PagingMode pagingMode;
  private final List<Cpu> cpus;
  private final PhysMem physMem = new PhysMem();
  private final Trace trace;
  private final Verifier verifier;
  private final Counters counters = new Counters();
  private final Map<String, MmStruct> mms = new LinkedHashMap<>();
  private final Map<String, AddressSpace> addressSpaces = new LinkedHashMap<>();
  private final boolean softDirty;

  private Machine(Builder b) {
    this.pagingMode = b.pagingMode;
    this.softDirty = b.softDirty;
    this.trace = new Trace(b.trace);
    this.verifier = new Verifier(b.verify);
    List<Cpu> list = new ArrayList<>();
    for (int i = 0; i < b.cpus; i++) {
      list.add(RuntimeInternals.cpu().newCpu(this, i, b.tlbEntries, b.hardware));
    }
    this.cpus = List.copyOf(list);
  }

  /**
   * A builder with the defaults: 2 x86 CPUs, 4-level paging, 64 TLB entries, soft-dirty tracking
   * compiled in, no trace, no verifier.
   */
  public static Builder builder() {
    return new Builder();
  }

  /** Configuration of a {@link Machine}. */
  public static final class Builder {
    private int cpus = 2;
    private PagingMode pagingMode = PagingMode.FOUR_LEVEL;
    private int tlbEntries = 64;
    private boolean verify;
    private boolean trace;
    private HardwareModel hardware = HardwareModel.X86;
    private boolean softDirty = true;

    private Builder() {}

    /**
     * {@code CONFIG_MEM_SOFT_DIRTY}: whether soft-dirty tracking is compiled in (on by default).
     * When off, {@code _PAGE_SOFT_DIRTY} and {@code VM_SOFTDIRTY} are 0 as in such a kernel: the
     * fault paths' {@code pte_mkdirty} sets only the dirty bit, new VMAs get no {@code
     * VM_SOFTDIRTY}, and soft-dirty never makes a VMA want write notification.
     */
    public Builder softDirty(boolean on) {
      this.softDirty = on;
      return this;
    }

    /** How the CPUs' TLBs treat the dirty bit; {@link HardwareModel#X86} by default. */
    public Builder hardware(HardwareModel model) {
      if (model == null) {
        throw new NullPointerException("hardware");
      }
      this.hardware = model;
      return this;
    }

    /** Number of simulated CPUs, 1 to 256. */
    public Builder cpus(int n) {
      if (n < 1 || n > 256) {
        throw new IllegalArgumentException("cpus must be 1..256, was " + n);
      }
      this.cpus = n;
      return this;
    }

    /** 4-level (47-bit) or 5-level (56-bit) paging. */
    public Builder pagingMode(PagingMode mode) {
      if (mode == null) {
        throw new NullPointerException("pagingMode");
      }
      this.pagingMode = mode;
      return this;
    }

    /** TLB entries per CPU, 1 to 65536; the least recently used is evicted past that. */
    public Builder tlbEntries(int n) {
      if (n < 1 || n > 65536) {
        throw new IllegalArgumentException("tlbEntries must be 1..65536, was " + n);
      }
      this.tlbEntries = n;
      return this;
    }

    /** Run the {@link Verifier} (tests should). */
    public Builder verify(boolean on) {
      this.verify = on;
      return this;
    }

    /** Record a {@link Trace} from the start. */
    public Builder trace(boolean on) {
      this.trace = on;
      return this;
    }

    /** The machine. */
    public Machine build() {
      return new Machine(this);
    }
  }

  /** {@code IS_ENABLED(CONFIG_MEM_SOFT_DIRTY)}: see {@link Builder#softDirty}. */
  public boolean softDirtyEnabled() {
    return softDirty;
  }

  /** 4-level or 5-level paging; every mm of this machine uses it. */
  public PagingMode pagingMode() {
    return pagingMode;
  }

  /** The CPUs, by id. */
  public List<Cpu> cpus() {
    return cpus;
  }

  /** CPU {@code id}. */
  public Cpu cpu(int id) {
    if (id < 0 || id >= cpus.size()) {
      throw new IllegalArgumentException(
          "no CPU " + id + ": this machine has CPUs 0.." + (cpus.size() - 1));
    }
    return cpus.get(id);
  }

  /** Physical memory. */
  public PhysMem physMem() {
    return physMem;
  }

  /** The event trace (possibly disabled). */
  public Trace trace() {
    return trace;
  }

  /** The verifier (possibly disabled). */
  public Verifier verifier() {
    return verifier;
  }

  /** Flush, fault and warning counts. */
  public Counters counters() {
    return counters;
  }

  /** {@code mm_alloc}: a new, empty process address space named {@code name} (unique). */
  public synchronized MmStruct newMm(String name) {
    checkName(name, mms.containsKey(name), "mm");
    MmStruct mm = RuntimeInternals.mm().newMm(this, name, mms.size());
    mms.put(name, mm);
    return mm;
  }

  /** A new file's {@code address_space} named {@code name} (unique), backed by nothing but RAM. */
  public synchronized AddressSpace newAddressSpace(String name) {
    return newAddressSpace(name, AddressSpace.Backing.RAM);
  }

  /**
   * A new file's {@code address_space} named {@code name} (unique) with the given backing: {@code
   * SHMEM} for a tmpfs file or a memfd ({@code shmem_file_setup}), {@code DISK} for a file on a
   * disk file system.
   */
  public synchronized AddressSpace newAddressSpace(String name, AddressSpace.Backing backing) {
    checkName(name, addressSpaces.containsKey(name), "address space");
    AddressSpace mapping = RuntimeInternals.addressSpace().newAddressSpace(this, name, backing);
    addressSpaces.put(name, mapping);
    return mapping;
  }

  /** Every mm created on this machine, in creation order. */
  public synchronized List<MmStruct> mms() {
    return List.copyOf(mms.values());
  }

  /** Every address space created on this machine, in creation order. */
  public synchronized List<AddressSpace> addressSpaces() {
    return List.copyOf(addressSpaces.values());
  }

  /** Throw if the verifier recorded a violation or anything is left open; see {@link Verifier}. */
  public void assertQuiet() {
    verifier.assertQuiet(mms());
  }

  /** Count and trace a warning; see {@link dev.ptwalk.runtime.debug.Bug#warnOn}. */
  public void warn(String message) {
    counters.countWarning();
    trace.record(new TraceEvent.Warning(message));
  }

  private static void checkName(String name, boolean taken, String what) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("a " + what + " needs a non-empty name");
    }
    if (taken) {
      throw new IllegalArgumentException("a " + what + " named '" + name + "' already exists");
    }
  }
}
