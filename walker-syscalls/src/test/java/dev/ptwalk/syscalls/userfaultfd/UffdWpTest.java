package dev.ptwalk.syscalls.userfaultfd;

import static dev.ptwalk.syscalls.Proc.BASE;
import static dev.ptwalk.syscalls.Proc.PAGE;
import static dev.ptwalk.syscalls.Proc.SLOT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ptwalk.runtime.Errno;
import dev.ptwalk.runtime.Pte;
import dev.ptwalk.runtime.cpu.SignalException;
import dev.ptwalk.runtime.mm.Userfaultfd;
import dev.ptwalk.runtime.trace.TraceEvent;
import dev.ptwalk.syscalls.Proc;
import dev.ptwalk.syscalls.Syscalls;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code UFFDIO_REGISTER} and {@code UFFDIO_WRITEPROTECT} on the simulated mm, verifier on: the
 * errors, markers only where the VMA uses them, a window crossing VMAs, unprotecting, and a sync
 * write fault as a SIGBUS.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class UffdWpTest {
  private static long err(Errno e) {
    return Syscalls.err(e);
  }

  @Test
  void theErrorsAreTheKernels() {
    Proc p = new Proc();
    p.anon(BASE, 8, false);
    assertEquals(err(Errno.ENOENT), p.wp(BASE, 8, true), "not registered");
    assertEquals(List.of("", "", "", "", "", "", "", ""), p.pagemap(BASE, 8));
    assertEquals(err(Errno.EINVAL), p.wp(BASE, 0, true), "validate_range: an empty range");
    assertEquals(err(Errno.EINVAL), UserfaultfdIoctls.userfaultfdWriteprotect(p.uffd, BASE + 8,
        PAGE, UserfaultfdIoctls.UFFDIO_WRITEPROTECT_MODE_WP), "unaligned");
    assertEquals(err(Errno.EINVAL), UserfaultfdIoctls.userfaultfdWriteprotect(p.uffd, BASE, PAGE,
        UserfaultfdIoctls.UFFDIO_WRITEPROTECT_MODE_WP
            | UserfaultfdIoctls.UFFDIO_WRITEPROTECT_MODE_DONTWAKE), "WP with DONTWAKE");
    assertEquals(err(Errno.EINVAL), UserfaultfdIoctls.userfaultfdWriteprotect(p.uffd, BASE, PAGE,
        4), "an unknown mode bit");
    assertEquals(err(Errno.ENOENT), p.wp(BASE + SLOT, 1, true), "no VMA at all");
    assertEquals(err(Errno.EINVAL), UserfaultfdIoctls.userfaultfdRegister(p.uffd, BASE, PAGE, 0));
    assertThrows(UnsupportedOperationException.class, () -> UserfaultfdIoctls
        .userfaultfdRegister(p.uffd, BASE, PAGE, Userfaultfd.UFFDIO_REGISTER_MODE_MISSING));
    p.machine.assertQuiet();
  }

  @Test
  void aWindowCrossingIntoAnUnregisteredVmaProtectsTheRegisteredOneThenFails() {
    Proc p = new Proc();
    long a = BASE + 1016 * PAGE;
    p.anon(a, 8, true);
    p.anon(BASE + SLOT, 8, false);
    assertEquals(err(Errno.ENOENT), p.wp(a, 16, true));
    assertEquals("[0,8)WPALLOWED|SWAPPED [8,16) end=16", p.scan(a, 16));
    assertEquals(err(Errno.ENOENT), p.wp(a, 16, false), "N again");
    assertEquals("[0,8)WPALLOWED|WRITTEN [8,16) end=16", p.scan(a, 16), "A unprotected first");
    p.anon(BASE + 2 * SLOT, 8, true);
    assertEquals(0, p.wp(BASE + 2 * SLOT, 20, true),
        "a window running past the VMA into unmapped space is accepted");
    assertEquals("[0,8)WPALLOWED|SWAPPED end=20", p.scan(BASE + 2 * SLOT, 20));
    p.machine.assertQuiet();
  }

  @Test
  void markersOnlyWhereTheVmaUsesThemAndTablesAllocatedOnlyThere() {
    Proc p = new Proc(0, false); // features=none: no WP_UNPOPULATED
    long a = BASE;
    long s = BASE + SLOT;
    p.anon(a, 4, true);
    p.memfd(s, 4, true, true);
    assertEquals(0, p.wp(a, 4, true));
    assertNull(p.mm.pgd().pteOffset(a), "anonymous memory without WP_UNPOPULATED: nothing");
    assertEquals(0, p.wp(s, 4, true));
    assertNotNull(p.mm.pgd().pteOffset(s));
    assertEquals(List.of("SW", "SW", "SW", "SW"), p.pagemap(s, 4),
        "file VMAs always use markers");
    assertEquals("[0,4)WRITTEN end=4", p.scan(a, 4), "a hole of a registered VMA is written");
    p.machine.assertQuiet();
  }

  @Test
  void unprotectingClearsTheBitAndTheMarkersAndGivesBackWriteWhereAFaultWould() {
    Proc p = new Proc();
    p.anon(BASE, 4, true);
    p.write(BASE);
    assertEquals(0, p.wp(BASE, 4, true));
    assertEquals(List.of("PW", "SW", "SW", "SW"), p.pagemap(BASE, 4));
    p.machine.trace().clear();
    assertEquals(0, p.wp(BASE, 2, false));
    assertEquals(List.of("P", "", "SW", "SW"), p.pagemap(BASE, 4));
    long pte = p.mm.followPte(BASE);
    assertTrue(Pte.write(pte) && !Pte.uffdWp(pte), "an exclusive anonymous page: writable");
    List<String> brackets = p.machine.trace().events(TraceEvent.NotifierStart.class).stream()
        .map(TraceEvent.NotifierStart::event).collect(Collectors.toList());
    assertEquals(List.of("PROTECTION_VMA"), brackets);
    p.machine.assertQuiet();
  }

  @Test
  void withoutWpAsyncAWriteToAProtectedPageIsASigbus() {
    Proc p = new Proc(Userfaultfd.UFFD_FEATURE_WP_UNPOPULATED, false);
    p.anon(BASE, 2, true);
    assertEquals(0, p.wp(BASE, 2, true));
    SignalException e = assertThrows(SignalException.class, () -> p.write(BASE));
    assertEquals(SignalException.Signal.SIGBUS, e.signal());
    assertEquals(List.of("PW", "SW"), p.pagemap(BASE, 2),
        "the marker's fault allocated the page, protected, before the SIGBUS");
    assertEquals(0, p.wp(BASE, 2, false));
    p.write(BASE);
    assertEquals(List.of("P", ""), p.pagemap(BASE, 2));
    p.machine.assertQuiet();
  }
}
