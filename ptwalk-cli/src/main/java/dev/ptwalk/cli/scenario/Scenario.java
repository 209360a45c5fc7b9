package dev.ptwalk.cli.scenario;

import static dev.ptwalk.runtime.mm.VmFlags.VM_HUGETLB;
import static dev.ptwalk.runtime.mm.VmFlags.VM_IO;
import static dev.ptwalk.runtime.mm.VmFlags.VM_MAYWRITE;
import static dev.ptwalk.runtime.mm.VmFlags.VM_PFNMAP;
import static dev.ptwalk.runtime.mm.VmFlags.VM_READ;
import static dev.ptwalk.runtime.mm.VmFlags.VM_SHARED;
import static dev.ptwalk.runtime.mm.VmFlags.VM_WRITE;

import dev.ptwalk.runtime.DirtyWindow;
import dev.ptwalk.runtime.ErrnoException;
import dev.ptwalk.runtime.Machine;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.SignalException;
import dev.ptwalk.runtime.debug.VerifierViolation;
import dev.ptwalk.runtime.mm.AddressSpace;
import dev.ptwalk.cli.scenario.Verb.Phase;
import dev.ptwalk.runtime.mm.MmStruct;
import dev.ptwalk.runtime.mm.Reclaim;
import dev.ptwalk.runtime.mm.Userfaultfd;
import dev.ptwalk.runtime.notifier.SecondaryMmu;
import dev.ptwalk.runtime.pgtable.Pgtable;
import dev.ptwalk.runtime.trace.TraceEvent;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Runs a scenario file against a fresh simulated machine and prints what happened, one JSON object
 * per line.
 *
 * <pre>
 * # '#' starts a comment; tokens are separated by spaces; numbers are decimal or 0x-hex
 * cpus N                                    # simulated CPUs, default 2; before any access
 * mapping NAME                              # an address_space
 * mm NAME                                   # an mm_struct (a process)
 * vma MM MAPPING start=ADDR pages=N pgoff=N flags=F[,F...]
 *                                           # F: read write shared maywrite io pfnmap hugetlb
 * write MM ADDR [cpu=N]                     # a store by CPU N (default 0)
 * read MM ADDR [cpu=N]                      # a load
 * walk CLASS#METHOD MAPPING first=N nr=N [bitmap_pgoff=N bits=N]
 * pte MM ADDR                               # print that PTE's state
 * kvm NAME MM [policy=zap|wrprotect] [fast] # attach a secondary MMU (KVM) to MM
 * guest-write NAME ADDR                     # a store by NAME's guest
 * guest-read NAME ADDR                      # a load by NAME's guest
 * spte NAME ADDR                            # print NAME's spte for ADDR
 * </pre>
 *
 * <p>Faults use the default vm_ops of the runtime: a load of a page that is not present maps it
 * present, young and clean, writable only if the VMA is both {@code write} and {@code shared}; a
 * store maps it present, young, dirty and writable; a store to a present read-only PTE of a
 * writable VMA makes it writable, dirty and young again ({@code pfn_mkwrite} for {@code pfnmap},
 * {@code page_mkwrite} otherwise, copy-on-write for a private VMA); an access outside every VMA, or
 * a store to a VMA without {@code write}, is a segfault, printed, and the scenario goes on. The
 * runtime verifier is on: a walker that breaks a page-table rule stops the run. A {@code WARN_ON}
 * that fires prints {@code FILE:LINE: WARNING: ...} on the error stream, and the run goes on.
 */
public final class Scenario {
  /**
   * Every verb, in the order {@code --help} lists them. To add one: write its method below (it
   * gets the {@link Line}, checks it with the line's helpers, and runs it), and add a row here.
   */
  public static final List<Verb> VERBS = List.of(
      new Verb("cpus", Phase.CONFIG, List.of("cpus N"),
          "simulated CPUs, default 2; before any access", Scenario::cpus),
      new Verb("mapping", Phase.SETUP, List.of("mapping NAME"), "an address_space",
          Scenario::mapping),
      new Verb("mm", Phase.SETUP, List.of("mm NAME"), "an mm_struct (a process)", Scenario::mm),
      new Verb("vma", Phase.SETUP,
          List.of("vma MM MAPPING start=ADDR pages=N pgoff=N flags=F[,F...]",
              "vma MM - start=ADDR pages=N flags=F[,F...]"),
          "F: read write shared maywrite io pfnmap hugetlb; '-': private anonymous memory",
          Scenario::vma),
      new Verb("uffd", Phase.SETUP, List.of("uffd MM start=ADDR pages=N"),
          "register the range for async userfaultfd write-protect", Scenario::uffd),
      new Verb("write", Phase.ACTION, List.of("write MM ADDR [cpu=N]"),
          "a store by CPU N (default 0)", Scenario::write),
      new Verb("read", Phase.ACTION, List.of("read MM ADDR [cpu=N]"), "a load", Scenario::read),
      new Verb("walk", Phase.ACTION,
          List.of("walk CLASS#METHOD MAPPING first=N nr=N [bitmap_pgoff=N bits=N]",
              "walk CLASS#METHOD MM start=ADDR end=ADDR [bits=N]"),
          "call a generated (or any) walker on the class path", Scenario::walk),
      new Verb("reclaim", Phase.ACTION, List.of("reclaim MM ADDR"),
          "reclaim the page mapped at ADDR (MADV_PAGEOUT)", Scenario::reclaim),
      new Verb("pte", Phase.ACTION, List.of("pte MM ADDR"), "print that PTE's state",
          Scenario::pte),
      new Verb("kvm", Phase.SETUP, List.of("kvm NAME MM [policy=zap|wrprotect] [fast]"),
          "attach a secondary MMU (KVM) to MM: policy=wrprotect keeps read-only sptes for"
              + " CLEAR, PROTECTION_PAGE and SOFT_DIRTY (default zap); fast: has_fast_aging",
          Scenario::kvm),
      new Verb("guest-write", Phase.ACTION, List.of("guest-write NAME ADDR"),
          "a store by the guest of secondary MMU NAME", Scenario::guestWrite),
      new Verb("guest-read", Phase.ACTION, List.of("guest-read NAME ADDR"),
          "a load by the guest of secondary MMU NAME", Scenario::guestRead),
      new Verb("spte", Phase.ACTION, List.of("spte NAME ADDR"),
          "print the state of NAME's spte for ADDR", Scenario::spte));

  private static final Map<String, Verb> BY_NAME =
      VERBS.stream().collect(Collectors.toMap(Verb::name, v -> v));

  private final String file;
  private final ClassLoader walkers;
  private final JsonLines out;
  private final PrintStream err;
  private int cpus = 2;
  private Machine machine;
  private final Map<String, MmStruct> mms = new LinkedHashMap<>();
  private final Map<String, AddressSpace> mappings = new LinkedHashMap<>();
  private final Map<String, Userfaultfd> userfaultfds = new LinkedHashMap<>();
  private final Map<String, SecondaryMmu> kvms = new LinkedHashMap<>();
  /** The SETUP lines run so far, replayed if {@code cpus} rebuilds the machine. */
  private final List<Line> setup = new ArrayList<>();
  private boolean accessed;

  /** Bits of the largest bitmap the runner allocates for a walk: 2^30 (128 MiB). */
  public static final long MAX_BITS = 1L << 30;

  /**
   * A scenario named {@code file} (for messages) whose walkers are loaded from {@code walkers},
   * printing its JSON lines to {@code out} and warnings to {@code err}.
   */
  public Scenario(String file, ClassLoader walkers, PrintStream out, PrintStream err) {
    this.file = file;
    this.walkers = walkers;
    this.out = new JsonLines(out);
    this.err = err;
  }

  /**
   * The verbs as {@code ptwalk run --help} lists them: each form, and its help on the same line
   * when the form is short enough, else on the next.
   */
  public static List<String> help() {
    List<String> lines = new ArrayList<>();
    String pad = " ".repeat(30);
    for (Verb v : VERBS) {
      for (int i = 0; i < v.forms().size(); i++) {
        String form = "  " + v.forms().get(i);
        if (i < v.forms().size() - 1) {
          lines.add(form);
        } else if (form.length() < pad.length()) {
          List<String> help = wrap(v.help(), 80 - pad.length());
          lines.add(form + pad.substring(form.length()) + help.get(0));
          help.subList(1, help.size()).forEach(h -> lines.add(pad + h));
        } else {
          lines.add(form);
          wrap(v.help(), 80 - pad.length()).forEach(h -> lines.add(pad + h));
        }
      }
    }
    return lines;
  }

  /** {@code text} in lines of at most {@code width} characters, broken at spaces. */
  private static List<String> wrap(String text, int width) {
    List<String> out = new ArrayList<>();
    StringBuilder line = new StringBuilder();
    for (String word : text.split(" ")) {
      if (line.length() > 0 && line.length() + 1 + word.length() > width) {
        out.add(line.toString());
        line.setLength(0);
      }
      line.append(line.length() > 0 ? " " : "").append(word);
    }
    out.add(line.toString());
    return out;
  }

  /**
   * Run every line of {@code in}, which must be UTF-8 text.
   *
   * @throws ScenarioException for a line that is not UTF-8 text, a malformed line, an unknown name
   *     or verb, an overlapping VMA, a walker that cannot be found or is called with bad
   *     arguments or that throws (status 2), or a walker that breaks a page-table rule (status 1);
   *     nothing after that line runs
   */
  public void run(InputStream in) throws IOException {
    BufferedInputStream bytes = new BufferedInputStream(in);
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int number = 0;
    for (int c = bytes.read(); ; c = bytes.read()) {
      if (c == -1 && line.size() == 0) {
        return;
      }
      if (c == -1 || c == '\n') {
        number++;
        List<String> tokens = tokens(decode(number, line.toByteArray()));
        line.reset();
        if (!tokens.isEmpty()) {
          execute(number, tokens);
        }
        if (c == -1) {
          return;
        }
      } else {
        line.write(c);
      }
    }
  }

  /** Line {@code number} as text: strict UTF-8, no control characters but tab and CR. */
  private String decode(int number, byte[] bytes) {
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes);
    CharBuffer text = CharBuffer.allocate(bytes.length);
    CoderResult result = utf8.decode(in, text, true);
    if (!result.isError()) {
      result = utf8.flush(text);
    }
    if (result.isError()) {
      throw new ScenarioException(file, number, String.format(
          "byte 0x%02x at column %d is not UTF-8; a scenario file is UTF-8 text",
          bytes[in.position()] & 0xff, in.position() + 1));
    }
    text.flip();
    String s = text.toString();
    if (number == 1 && s.startsWith("\ufeff")) {
      s = s.substring(1); // a byte order mark
    }
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f) {
        throw new ScenarioException(file, number, String.format(
            "control character U+%04X at column %d; a scenario line holds printable text", (int) ch,
            i + 1));
      }
    }
    return s;
  }

  /** Whitespace-separated tokens, up to a token that starts with '#'. */
  static List<String> tokens(String line) {
    List<String> out = new ArrayList<>();
    for (String t : line.trim().split("\\s+")) {
      if (t.startsWith("#")) {
        break;
      }
      if (!t.isEmpty()) {
        out.add(t);
      }
    }
    return out;
  }

  private void execute(int number, List<String> tokens) {
    Verb verb = BY_NAME.get(tokens.get(0));
    if (verb == null) {
      throw new ScenarioException(file, number, "unknown verb '" + tokens.get(0) + "'; expected "
          + names(VERBS));
    }
    Line line = new Line(file, number, tokens, verb);
    if (verb.phase() == Phase.CONFIG && accessed) {
      throw line.error(verb.name() + " must come before the first " + names(VERBS.stream()
          .filter(v -> v.phase() == Phase.ACTION).collect(Collectors.toList())));
    }
    if (verb.phase() == Phase.ACTION) {
      accessed = true;
    }
    int mark = machine().trace().size();
    try {
      verb.action().run(this, line);
    } catch (VerifierViolation e) {
      throw new ScenarioException(file, number, "a walker broke a page-table rule: "
          + e.getMessage(), ScenarioException.RULE_BROKEN);
    } catch (IllegalArgumentException e) {
      throw line.error(e.getMessage()); // the runtime refused it, and changed nothing
    } finally {
      warnings(number, mark);
    }
    if (verb.phase() == Phase.SETUP) {
      setup.add(line);
    }
  }

  /** Print the warnings of line {@code number}, recorded after {@code mark}; forget the trace. */
  private void warnings(int number, int mark) {
    if (machine == null) {
      return;
    }
    for (TraceEvent e : machine.trace().eventsSince(mark)) {
      if (e instanceof TraceEvent.Warning) {
        err.println(file + ":" + number + ": WARNING: " + ((TraceEvent.Warning) e).message());
      }
    }
    machine.trace().clear();
  }

  /** "a, b or c". */
  private static String names(List<Verb> verbs) {
    List<String> names = verbs.stream().map(Verb::name).collect(Collectors.toList());
    return names.size() == 1 ? names.get(0) : String.join(", ", names.subList(0,
        names.size() - 1)) + " or " + names.get(names.size() - 1);
  }

  /** A new machine with {@link #cpus} CPUs, with the setup so far replayed on it. */
  private void rebuild() {
    machine = null;
    mms.clear();
    mappings.clear();
    userfaultfds.clear();
    kvms.clear();
    for (Line l : setup) {
      l.verb().action().run(this, l);
    }
  }

  private Machine machine() {
    if (machine == null) {
      machine = Machine.builder().cpus(cpus).verify(true).trace(true).build();
    }
    return machine;
  }

  // ---- the verbs, one method each ----

  private void cpus(Line l) {
    l.arity(1, 1);
    cpus = (int) l.number(l.arg(1), "N", 1, 256);
    rebuild();
  }

  private void mapping(Line l) {
    l.arity(1, 1);
    fresh(l, l.arg(1), mappings, "mapping");
    mappings.put(l.arg(1), machine().newAddressSpace(l.arg(1)));
  }

  private void mm(Line l) {
    l.arity(1, 1);
    fresh(l, l.arg(1), mms, "mm");
    mms.put(l.arg(1), machine().newMm(l.arg(1)));
  }

  private void vma(Line l) {
    if (l.arg(2).equals("-")) {
      anonVma(l);
      return;
    }
    l.arity(6, 6);
    MmStruct mm = mm(l, l.arg(1));
    AddressSpace mapping = mapping(l, l.arg(2));
    Map<String, String> kv = l.keyValues(3, List.of("start", "pages", "pgoff", "flags"));
    for (String key : List.of("start", "pages", "pgoff", "flags")) {
      if (!kv.containsKey(key)) {
        throw l.error("missing " + key + "=...; usage: " + l.verb().usage());
      }
    }
    long start = address(l, kv.get("start"), "start");
    long pages = l.number(kv.get("pages"), "pages", 1, Long.MAX_VALUE);
    long pgoff = l.number(kv.get("pgoff"), "pgoff", 0, Long.MAX_VALUE);
    long flags = flags(l, kv.get("flags"));
    mm.mmap(mapping, start, pages, pgoff, flags);
  }

  /** {@code vma MM - ...}: private anonymous memory, as {@code mmap(MAP_PRIVATE|MAP_ANONYMOUS)}. */
  private void anonVma(Line l) {
    l.arity(5, 5);
    MmStruct mm = mm(l, l.arg(1));
    Map<String, String> kv = l.keyValues(3, List.of("start", "pages", "flags"));
    for (String key : List.of("start", "pages", "flags")) {
      if (!kv.containsKey(key)) {
        throw l.error("missing " + key + "=...; usage: vma MM - start=ADDR pages=N"
            + " flags=F[,F...]");
      }
    }
    long start = address(l, kv.get("start"), "start");
    long pages = l.number(kv.get("pages"), "pages", 1, Long.MAX_VALUE);
    long flags = flags(l, kv.get("flags"));
    if ((flags & (VM_SHARED | VM_IO | VM_PFNMAP | VM_HUGETLB)) != 0) {
      throw l.error("'-' maps private anonymous memory, which cannot be shared, io, pfnmap or"
          + " hugetlb; use read and write, or name a mapping");
    }
    mm.mmap(null, start, pages, 0, flags);
  }

  /**
   * {@code uffd MM start=ADDR pages=N}: open the mm's userfaultfd (once, with {@code
   * UFFD_FEATURE_WP_ASYNC}) and register the range in write-protect mode.
   */
  private void uffd(Line l) {
    l.arity(3, 3);
    MmStruct mm = mm(l, l.arg(1));
    Map<String, String> kv = l.keyValues(2, List.of("start", "pages"));
    if (!kv.containsKey("start") || !kv.containsKey("pages")) {
      throw l.error("uffd needs start=ADDR and pages=N; usage: " + l.verb().usage());
    }
    long start = address(l, kv.get("start"), "start");
    long pages = l.number(kv.get("pages"), "pages", 1, Long.MAX_VALUE >>> Pgtable.PAGE_SHIFT);
    Userfaultfd uffd = userfaultfds.computeIfAbsent(mm.name(),
        k -> Userfaultfd.open(mm, Userfaultfd.UFFD_FEATURE_WP_ASYNC));
    try {
      uffd.registerWp(start, pages << Pgtable.PAGE_SHIFT);
    } catch (ErrnoException e) {
      throw l.error(e.getMessage());
    }
  }

  /** {@code reclaim MM ADDR}: reclaim the folio mapped at ADDR, as {@code MADV_PAGEOUT} does. */
  private void reclaim(Line l) {
    l.arity(2, 2);
    MmStruct mm = mm(l, l.arg(1));
    long addr = address(l, l.arg(2), "ADDR");
    Reclaim.reclaimPage(mm, addr);
  }

  private void write(Line l) {
    access(l, true);
  }

  private void read(Line l) {
    access(l, false);
  }

  private void access(Line l, boolean write) {
    l.arity(2, 3);
    MmStruct mm = mm(l, l.arg(1));
    long addr = wordAddress(l, l.arg(2));
    int cpu = 0;
    if (l.size() == 4) {
      Map<String, String> kv = l.keyValues(3, List.of("cpu"));
      cpu = (int) l.number(kv.get("cpu"), "cpu", 0, machine().cpus().size() - 1);
    }
    try {
      if (write) {
        machine().cpu(cpu).store(mm, addr, l.number());
      } else {
        machine().cpu(cpu).load(mm, addr);
      }
    } catch (SignalException e) {
      String key = e.signal() == SignalException.Signal.SIGSEGV ? "segfault" : "sigbus";
      out.print(l.number(), g -> {
        g.writeObjectFieldStart(key);
        g.writeStringField("mm", e.mm());
        JsonLines.hex(g, "addr", addr);
        g.writeStringField("access", write ? "write" : "read");
        g.writeEndObject();
      });
    }
  }

  private void pte(Line l) {
    l.arity(2, 2);
    MmStruct mm = mm(l, l.arg(1));
    long addr = address(l, l.arg(2), "ADDR");
    long pte = mm.followPte(addr);
    out.print(l.number(), g -> {
      g.writeObjectFieldStart("pte");
      g.writeStringField("mm", mm.name());
      JsonLines.hex(g, "addr", addr);
      g.writeBooleanField("present", Pte.present(pte));
      g.writeBooleanField("write", Pte.write(pte));
      g.writeBooleanField("dirty", Pte.dirty(pte));
      g.writeBooleanField("young", Pte.young(pte));
      g.writeBooleanField("soft_dirty", Pte.softDirty(pte));
      g.writeBooleanField("uffd_wp", Pte.uffdWp(pte));
      g.writeEndObject();
    });
  }

  /**
   * {@code kvm NAME MM [policy=zap|wrprotect] [fast]}: a secondary MMU named NAME on MM, as KVM
   * creates one ({@code kvm_create_vm} registers its mmu notifier), folios marked dirty when a
   * writable spte is installed (KVM's order since 6.13).
   */
  private void kvm(Line l) {
    l.arity(2, 4);
    String name = l.arg(1);
    fresh(l, name, kvms, "secondary MMU");
    MmStruct mm = mm(l, l.arg(2));
    SecondaryMmu.InvalidationPolicy policy = null;
    boolean fast = false;
    for (String option : l.from(3)) {
      if (option.equals("fast")) {
        if (fast) {
          throw l.error("fast is given twice");
        }
        fast = true;
      } else if (option.startsWith("policy=")) {
        if (policy != null) {
          throw l.error("policy= is given twice");
        }
        String value = option.substring("policy=".length());
        if (value.equals("zap")) {
          policy = SecondaryMmu.InvalidationPolicy.ZAP;
        } else if (value.equals("wrprotect")) {
          policy = SecondaryMmu.InvalidationPolicy.WRPROTECT;
        } else {
          throw l.error("unknown policy '" + value + "'; policy is zap or wrprotect");
        }
      } else {
        throw l.error("unknown option '" + option + "'; expected policy=zap, policy=wrprotect or"
            + " fast; usage: " + l.verb().usage());
      }
    }
    kvms.put(name, SecondaryMmu.builder(name, mm)
        .policy(policy == null ? SecondaryMmu.InvalidationPolicy.ZAP : policy)
        .fastAging(fast).build());
  }

  private void guestWrite(Line l) {
    guestAccess(l, true);
  }

  private void guestRead(Line l) {
    guestAccess(l, false);
  }

  /**
   * {@code guest-write NAME ADDR} / {@code guest-read NAME ADDR}: a guest access through NAME's
   * sptes, faulting through {@code hva_to_pfn} when none allows it; a store writes the line number.
   * An address no VMA maps (or one the VMA does not allow) is {@code KVM_RUN}'s {@code -EFAULT},
   * printed, and the run goes on.
   */
  private void guestAccess(Line l, boolean write) {
    l.arity(2, 2);
    SecondaryMmu kvm = kvm(l, l.arg(1));
    long addr = wordAddress(l, l.arg(2));
    try {
      if (write) {
        kvm.write(addr, l.number());
      } else {
        kvm.read(addr);
      }
    } catch (SignalException e) {
      out.print(l.number(), g -> {
        g.writeObjectFieldStart("efault");
        g.writeStringField("kvm", kvm.name());
        JsonLines.hex(g, "addr", addr);
        g.writeStringField("access", write ? "write" : "read");
        g.writeEndObject();
      });
    }
  }

  /** {@code spte NAME ADDR}: the state of NAME's spte for the page of ADDR. */
  private void spte(Line l) {
    l.arity(2, 2);
    SecondaryMmu kvm = kvm(l, l.arg(1));
    long addr = address(l, l.arg(2), "ADDR");
    SecondaryMmu.Spte spte = kvm.spte(addr);
    out.print(l.number(), g -> {
      g.writeObjectFieldStart("spte");
      g.writeStringField("kvm", kvm.name());
      JsonLines.hex(g, "addr", addr);
      g.writeBooleanField("present", spte != null);
      g.writeBooleanField("write", spte != null && spte.writable());
      g.writeBooleanField("young", spte != null && spte.young());
      g.writeBooleanField("dirty", spte != null && spte.dirty());
      g.writeEndObject();
    });
  }

  private void walk(Line l) {
    l.arity(4, 6);
    String target = l.arg(1);
    Method method = findWalker(l, target);
    boolean mmScope = method.getParameterTypes()[0] == MmStruct.class;
    boolean bitmap = mmScope ? method.getParameterCount() == 5 : method.getParameterCount() == 6;
    long bits = 0;
    long[] map;
    DirtyWindow window = new DirtyWindow();
    Object[] args;
    if (mmScope) {
      MmStruct mm = mm(l, l.arg(2));
      Map<String, String> kv = l.keyValues(3, List.of("start", "end", "bits"));
      if (!kv.containsKey("start") || !kv.containsKey("end")) {
        throw l.error("an MM walker needs start=ADDR and end=ADDR; usage: walk CLASS#METHOD MM"
            + " start=ADDR end=ADDR [bits=N]");
      }
      long start = address(l, kv.get("start"), "start");
      long end = l.unsigned(kv.get("end"), "end");
      if (!bitmap && kv.containsKey("bits")) {
        throw l.error(target + " takes no bitmap: bits= is for bitmap walkers");
      }
      if (bitmap) {
        bits = mmBits(l, kv.get("bits"), start, end);
      }
      map = new long[(int) ((bits + 63) >>> 6)];
      args = bitmap ? new Object[] {mm, start, end, map, window} : new Object[] {mm, start, end};
    } else {
      AddressSpace mapping = mapping(l, l.arg(2));
      Map<String, String> kv = l.keyValues(3, List.of("first", "nr", "bitmap_pgoff", "bits"));
      if (!kv.containsKey("first") || !kv.containsKey("nr")) {
        throw l.error("walk needs first=N and nr=N; usage: " + l.verb().usage());
      }
      long first = l.number(kv.get("first"), "first", 0, Long.MAX_VALUE);
      long nr = l.number(kv.get("nr"), "nr", 0, Long.MAX_VALUE);
      if (first > Long.MAX_VALUE - nr) {
        throw l.error("first + nr overflows: first=" + first + ", nr=" + nr
            + "; the walk covers file pages [first, first + nr)");
      }
      if (!bitmap && (kv.containsKey("bitmap_pgoff") || kv.containsKey("bits"))) {
        throw l.error(target + " takes no bitmap: bitmap_pgoff= and bits= are for bitmap walkers");
      }
      long bitmapPgoff = first;
      if (bitmap) {
        if (kv.containsKey("bitmap_pgoff")) {
          bitmapPgoff = l.number(kv.get("bitmap_pgoff"), "bitmap_pgoff", 0, Long.MAX_VALUE);
          if (bitmapPgoff > first) {
            throw l.error("bitmap_pgoff=" + bitmapPgoff + " is past first=" + first
                + ": bit 0 of the bitmap is file page bitmap_pgoff, so it must be at most first");
          }
        }
        bits = bits(l, kv.get("bits"), first, nr, bitmapPgoff);
      }
      map = new long[(int) ((bits + 63) >>> 6)];
      args = bitmap ? new Object[] {mapping, first, nr, bitmapPgoff, map, window}
          : new Object[] {mapping, first, nr};
    }
    int mark = machine().trace().size();
    long warningsBefore = machine().counters().warnings();
    long total;
    try {
      total = (Long) method.invoke(null, args);
    } catch (IllegalAccessException e) {
      throw l.error(target + " cannot be called: " + e.getMessage());
    } catch (InvocationTargetException e) {
      throw walkFailed(l, target, method, e.getCause());
    }
    List<TraceEvent> events = machine().trace().eventsSince(mark);
    long warnings = machine().counters().warnings() - warningsBefore;
    long bitCount = bits;
    out.print(l.number(), g -> {
      g.writeStringField("walk", target);
      g.writeNumberField("total", total);
      if (bitmap) {
        g.writeArrayFieldStart("bits");
        for (int w = 0; w < map.length; w++) {
          for (long word = map[w]; word != 0; word &= word - 1) {
            long bit = ((long) w << 6) + Long.numberOfTrailingZeros(word);
            if (bit < bitCount) {
              g.writeNumber(bit);
            }
          }
        }
        g.writeEndArray();
        g.writeNumberField("start", window.start);
        g.writeNumberField("end", window.end);
      }
      g.writeArrayFieldStart("notifiers");
      for (TraceEvent e : events) {
        if (e instanceof TraceEvent.NotifierStart) {
          TraceEvent.NotifierStart n = (TraceEvent.NotifierStart) e;
          g.writeStartObject();
          g.writeStringField("mm", n.mm());
          g.writeStringField("event", n.event());
          JsonLines.hex(g, "start", n.start());
          JsonLines.hex(g, "end", n.end());
          g.writeEndObject();
        }
      }
      g.writeEndArray();
      g.writeArrayFieldStart("flushes");
      for (TraceEvent e : events) {
        if (e instanceof TraceEvent.TlbFlush) {
          TraceEvent.TlbFlush f = (TraceEvent.TlbFlush) e;
          g.writeStartObject();
          g.writeStringField("mm", f.mm());
          if (f.wholeMm()) {
            g.writeBooleanField("all", true);
          } else {
            JsonLines.hex(g, "start", f.start());
            JsonLines.hex(g, "end", f.end());
          }
          g.writeEndObject();
        }
      }
      g.writeEndArray();
      g.writeNumberField("warnings", warnings);
    });
  }

  /**
   * The bits of the bitmap a walk of file pages {@code [first, first + nr)} gets: {@code bits=}
   * when given, which must hold every bit the walk may set (exactly, not rounded up to a word),
   * else exactly those bits. At most {@link #MAX_BITS}.
   */
  private static long bits(Line l, String given, long first, long nr, long bitmapPgoff) {
    long needed = first + nr - bitmapPgoff;
    if (given == null) {
      if (needed > MAX_BITS) {
        throw l.error("the walk needs a bitmap of " + needed + " bits (file pages [" + first
            + ", " + (first + nr) + ") from bitmap_pgoff=" + bitmapPgoff + "), more than 2^30,"
            + " the largest the runner allocates; walk fewer pages per line");
      }
      return needed;
    }
    long bits = l.number(given, "bits", 0, Long.MAX_VALUE);
    if (bits > MAX_BITS) {
      throw l.error("bits=" + bits + " is more than 2^30, the largest bitmap the runner"
          + " allocates");
    }
    if (bits < needed) {
      throw l.error("bits=" + bits + " is too small: file pages [" + first + ", "
          + (first + nr) + ") are bits [" + (first - bitmapPgoff) + ", " + needed
          + ") of a bitmap from bitmap_pgoff=" + bitmapPgoff + "; give bits=" + needed
          + " or more");
    }
    return bits;
  }

  /**
   * The bits of the bitmap an MM walk of {@code [start, end)} gets: {@code bits=} when given,
   * which must hold every page of the range (exactly), else one bit per page. At most {@link
   * #MAX_BITS}.
   */
  private static long mmBits(Line l, String given, long start, long end) {
    long needed = Long.compareUnsigned(end, start) > 0 && (end & (Pgtable.PAGE_SIZE - 1)) == 0
        && (start & (Pgtable.PAGE_SIZE - 1)) == 0 ? (end - start) >>> Pgtable.PAGE_SHIFT : 0;
    if (given == null) {
      if (needed > MAX_BITS) {
        throw l.error("the walk needs a bitmap of " + needed + " bits (one per page of [0x"
            + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ")), more than 2^30, the"
            + " largest the runner allocates; walk fewer pages per line");
      }
      return needed;
    }
    long bits = l.number(given, "bits", 0, Long.MAX_VALUE);
    if (bits > MAX_BITS) {
      throw l.error("bits=" + bits + " is more than 2^30, the largest bitmap the runner"
          + " allocates");
    }
    if (bits < needed) {
      throw l.error("bits=" + bits + " is too small: [0x" + Long.toHexString(start) + ", 0x"
          + Long.toHexString(end) + ") has " + needed + " pages, one bit each; give bits="
          + needed + " or more");
    }
    return bits;
  }

  /**
   * What to report when the walker threw {@code cause}: its own argument check refusing the
   * arguments (an exception thrown by the walker's class itself, before anything else ran), or an
   * exception from deeper down, from the callback or the runtime, named with where it came from.
   */
  private static ScenarioException walkFailed(Line l, String target, Method method,
      Throwable cause) {
    if (cause instanceof VerifierViolation) {
      throw (VerifierViolation) cause;
    }
    if (cause instanceof ExceptionInInitializerError && cause.getCause() != null) {
      Throwable init = cause.getCause();
      return l.error(target + " threw " + cause.getClass().getName()
          + ": the static initializer of " + initializerOf(init) + " threw " + init);
    }
    StackTraceElement origin = origin(cause);
    String walkerClass = method.getDeclaringClass().getName();
    if ((cause instanceof IllegalArgumentException || cause instanceof NullPointerException)
        && thrownByTheWalkerItself(cause, walkerClass, method.getName())) {
      return l.error(target + " rejected its arguments: " + cause.getMessage());
    }
    return l.error(target + " threw " + cause + (origin == null ? ""
        : ", in " + origin.getClassName() + "." + origin.getMethodName()));
  }

  /** Whether every frame from the throw down to the walker's own frame is in the walker's class. */
  private static boolean thrownByTheWalkerItself(Throwable t, String walkerClass, String walker) {
    for (StackTraceElement f : t.getStackTrace()) {
      if (isJdk(f)) {
        continue;
      }
      if (!f.getClassName().equals(walkerClass)) {
        return false;
      }
      if (f.getMethodName().equals(walker)) {
        return true;
      }
    }
    return false;
  }

  /** The innermost frame of {@code t} that is not the JDK's own, or null. */
  private static StackTraceElement origin(Throwable t) {
    for (StackTraceElement f : t.getStackTrace()) {
      if (!isJdk(f)) {
        return f;
      }
    }
    return null;
  }

  /** The class whose {@code <clinit>} threw {@code t}. */
  private static String initializerOf(Throwable t) {
    for (StackTraceElement f : t.getStackTrace()) {
      if (f.getMethodName().equals("<clinit>")) {
        return f.getClassName();
      }
    }
    StackTraceElement origin = origin(t);
    return origin == null ? "a class" : origin.getClassName();
  }

  private static boolean isJdk(StackTraceElement f) {
    String c = f.getClassName();
    return c.startsWith("java.") || c.startsWith("jdk.") || c.startsWith("sun.");
  }

  /** The public static walker {@code CLASS#METHOD}, with either walker signature. */
  private Method findWalker(Line l, String target) {
    int hash = target.indexOf('#');
    if (hash <= 0 || hash == target.length() - 1) {
      throw l.error("'" + target + "' is not CLASS#METHOD (for example"
          + " dev.ptwalk.samples.DirtyHelpersWalkers#applyAsClean)");
    }
    String className = target.substring(0, hash);
    String methodName = target.substring(hash + 1);
    Class<?> c;
    try {
      c = Class.forName(className, true, walkers);
    } catch (ClassNotFoundException e) {
      throw l.error("walker class " + className
          + " is not on the class path; add its directory or jar with --classpath");
    } catch (ExceptionInInitializerError e) {
      throw l.error("walker class " + className + " cannot be used: the static initializer of "
          + initializerOf(e.getCause()) + " threw " + e.getCause());
    } catch (NoClassDefFoundError e) {
      if (e.getMessage() != null && e.getMessage().startsWith("Could not initialize class")) {
        throw l.error("walker class " + className + " cannot be used: " + e.getMessage()
            + " (its static initializer threw earlier in this run)");
      }
      throw l.error("walker class " + className + " needs class "
          + String.valueOf(e.getMessage()).replace('/', '.') + ", which is not on the class"
          + " path; add its directory or jar with --classpath");
    } catch (LinkageError e) {
      throw l.error("walker class " + className + " cannot be loaded: " + e);
    }
    for (Method m : c.getMethods()) {
      if (m.getName().equals(methodName) && Modifier.isStatic(m.getModifiers())
          && m.getReturnType() == long.class && (isPlainWalker(m) || isBitmapWalker(m)
              || isMmWalker(m))) {
        return m;
      }
    }
    throw l.error(className + " has no public static walker " + methodName
        + "(AddressSpace, long, long), " + methodName
        + "(AddressSpace, long, long, long, long[], DirtyWindow), " + methodName
        + "(MmStruct, long, long) or " + methodName
        + "(MmStruct, long, long, long[], DirtyWindow) returning long");
  }

  /** An MM-scope walker, with or without a bitmap. */
  private static boolean isMmWalker(Method m) {
    Class<?>[] p = m.getParameterTypes();
    boolean range = p.length >= 3 && p[0] == MmStruct.class && p[1] == long.class
        && p[2] == long.class;
    return range && (p.length == 3
        || (p.length == 5 && p[3] == long[].class && p[4] == DirtyWindow.class));
  }

  private static boolean isPlainWalker(Method m) {
    Class<?>[] p = m.getParameterTypes();
    return p.length == 3 && p[0] == AddressSpace.class && p[1] == long.class && p[2] == long.class;
  }

  private static boolean isBitmapWalker(Method m) {
    Class<?>[] p = m.getParameterTypes();
    return p.length == 6 && p[0] == AddressSpace.class && p[1] == long.class
        && p[2] == long.class && p[3] == long.class && p[4] == long[].class
        && p[5] == DirtyWindow.class;
  }

  // ---- addresses, names and flags ----

  /**
   * A user address of this machine: in {@code [0, TASK_SIZE)} of its paging mode. The one rule
   * for every address of a scenario; the message prints addresses in hex.
   */
  private long address(Line l, String text, String what) {
    long taskSize = machine().pagingMode().taskSize();
    long addr = l.unsigned(text, what);
    if (Long.compareUnsigned(addr, taskSize) >= 0) {
      String hex = "0x" + Long.toHexString(addr);
      throw l.error(what + " " + (text.equalsIgnoreCase(hex) ? hex : text + " (" + hex + ")")
          + " is not a user address: user space is [0x0, 0x" + Long.toHexString(taskSize)
          + ") with " + machine().pagingMode().levels() + "-level paging");
    }
    return addr;
  }

  /** An access's ADDR: a user address, 8-byte aligned, since accesses are 64-bit words. */
  private long wordAddress(Line l, String text) {
    long addr = address(l, text, "ADDR");
    if ((addr & 7) != 0) {
      throw l.error("ADDR 0x" + Long.toHexString(addr)
          + " must be 8-byte aligned: accesses are 64-bit words");
    }
    return addr;
  }

  private static <T> void fresh(Line l, String name, Map<String, T> names, String what) {
    if (names.containsKey(name)) {
      throw l.error(what + " '" + name + "' is already defined");
    }
  }

  private MmStruct mm(Line l, String name) {
    MmStruct mm = mms.get(name);
    if (mm == null) {
      throw l.error("unknown mm '" + name + "'; define it first with: mm " + name);
    }
    return mm;
  }

  private SecondaryMmu kvm(Line l, String name) {
    SecondaryMmu kvm = kvms.get(name);
    if (kvm == null) {
      throw l.error("unknown secondary MMU '" + name + "'; attach it first with: kvm " + name
          + " MM");
    }
    return kvm;
  }

  private AddressSpace mapping(Line l, String name) {
    AddressSpace m = mappings.get(name);
    if (m == null) {
      throw l.error("unknown mapping '" + name + "'; define it first with: mapping " + name);
    }
    return m;
  }

  private static long flags(Line l, String text) {
    long flags = 0;
    for (String f : text.split(",", -1)) {
      switch (f) {
        case "read":
          flags |= VM_READ;
          break;
        case "write":
          flags |= VM_WRITE;
          break;
        case "shared":
          flags |= VM_SHARED;
          break;
        case "maywrite":
          flags |= VM_MAYWRITE;
          break;
        case "io":
          flags |= VM_IO;
          break;
        case "pfnmap":
          flags |= VM_PFNMAP;
          break;
        case "hugetlb":
          flags |= VM_HUGETLB;
          break;
        default:
          throw l.error("unknown flag '" + f
              + "'; flags are read, write, shared, maywrite, io, pfnmap, hugetlb");
      }
    }
    return flags;
  }
}
