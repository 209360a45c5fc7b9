package dev.ptwalk.samples;

import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;

import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Vma;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.io.PrintStream;

/**
 * The runtime on its own: one file mapped shared into two processes at different addresses and
 * pgoffs, a few loads and stores from two CPUs, and the PTE states that result.
 *
 * <p>Run with {@code bin/ptwalk runtime-demo}.
 */
public final class RuntimeDemo {
  private RuntimeDemo() {}

  /** Entry point; takes no arguments. */
  public static void main(String[] args) {
    if (args.length != 0) {
      System.err.println("usage: RuntimeDemo (no arguments)");
      System.exit(2);
    }
    run(System.out);
  }

  /** Run the demo, printing to {@code out}. */
  public static void run(PrintStream out) {
    Machine machine = Machine.builder().cpus(2).verify(true).trace(true).build();
    AddressSpace buf = machine.newAddressSpace("buf");
    MmStruct a = machine.newMm("A");
    MmStruct b = machine.newMm("B");
    long flags = VM_READ | VM_WRITE | VM_SHARED | VM_IO;
    Vma va = a.mmap(buf, 0x7f00_0000_0000L, 8, 0, flags);
    Vma vb = b.mmap(buf, 0x5555_0000_0000L, 6, 2, flags);
    out.println("ptwalk runtime demo: file 'buf' mapped into two processes");
    out.println("  " + va);
    out.println("  " + vb);
    out.println();

    machine.cpu(0).store(a, va.addressOf(2), 0xA2);
    machine.cpu(1).load(b, vb.addressOf(3));
    machine.cpu(1).store(b, vb.addressOf(4), 0xB4);
    machine.cpu(0).load(a, va.addressOf(4));
    out.println("CPU 0: store A pgoff 2;  CPU 1: load B pgoff 3;  CPU 1: store B pgoff 4;"
        + "  CPU 0: load A pgoff 4");
    out.println();
    out.println("faults:");
    for (TraceEvent.Fault f : machine.trace().events(TraceEvent.Fault.class)) {
      out.println("  " + f);
    }
    out.println();
    out.printf("%-4s %-6s %-16s %-8s %-8s %-6s %-6s %s%n",
        "mm", "pgoff", "address", "present", "write", "dirty", "young", "pte");
    for (Vma v : new Vma[] {va, vb}) {
      for (long pgoff = v.pgoff(); pgoff <= v.lastPgoff(); pgoff++) {
        long addr = v.addressOf(pgoff);
        long pte = v.mm().followPte(addr);
        out.printf("%-4s %-6d 0x%-14x %-8s %-8s %-6s %-6s %s%n", v.mm().name(), pgoff, addr,
            Pte.present(pte), Pte.write(pte), Pte.dirty(pte), Pte.young(pte), Pte.toString(pte));
      }
    }
    out.println();
    out.printf("pgoff 4 holds 0x%x seen from A and 0x%x seen from B: one page, two mappings%n",
        machine.cpu(0).load(a, va.addressOf(4)), machine.cpu(1).load(b, vb.addressOf(4)));
    machine.assertQuiet();
    out.println("verifier: quiet");
  }
}
