package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * The backstop that keeps any test from hanging the build: the parent pom gives every test
 * without an explicit {@code @Timeout} five minutes, run in a separate thread. This checks that
 * the run has it, and that with it even a test that spins without ever looking at interrupts is
 * failed on time.
 */
@Timeout(120)
class TimeoutBackstopTest {
  private static volatile String timeoutDefault;
  private static volatile String threadMode;

  @RegisterExtension
  static final BeforeEachCallback READ_CONFIGURATION = context -> {
    timeoutDefault =
        context.getConfigurationParameter("junit.jupiter.execution.timeout.default").orElse(null);
    threadMode = context.getConfigurationParameter(
        "junit.jupiter.execution.timeout.thread.mode.default").orElse(null);
  };

  /** Spins until disarmed, deaf to interrupts. Run only through the launcher below. */
  static final class Spinner {
    static volatile boolean armed;

    @Test
    void spins() {
      while (armed) {
        Thread.onSpinWait();
      }
    }
  }

  @Test
  void thisRunHasTheBackstop() {
    assertEquals("5 m", timeoutDefault);
    assertEquals("SEPARATE_THREAD", threadMode);
  }

  @Test
  void aTestSpinningDeafToInterruptsIsFailedOnTime() {
    Launcher launcher = LauncherFactory.create();
    SummaryGeneratingListener listener = new SummaryGeneratingListener();
    Spinner.armed = true;
    long start = System.nanoTime();
    try {
      launcher.execute(LauncherDiscoveryRequestBuilder.request()
          .selectors(selectClass(Spinner.class))
          .configurationParameter("junit.jupiter.execution.timeout.default", "1 s")
          .configurationParameter("junit.jupiter.execution.timeout.thread.mode.default",
              "SEPARATE_THREAD")
          .build(), listener);
    } finally {
      Spinner.armed = false; // let the abandoned test thread end
    }
    long seconds = (System.nanoTime() - start) / 1_000_000_000L;
    TestExecutionSummary summary = listener.getSummary();
    assertEquals(1, summary.getTestsFailedCount());
    Throwable cause = summary.getFailures().get(0).getException();
    assertTrue(cause instanceof TimeoutException, cause::toString);
    assertEquals("spins() timed out after 1 second", cause.getMessage());
    assertTrue(seconds < 60, "failed after " + seconds + " s");
  }
}
