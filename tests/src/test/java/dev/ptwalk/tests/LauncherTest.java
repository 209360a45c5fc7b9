package dev.ptwalk.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** bin/ptwalk itself: which java it runs. */
@Timeout(120)
class LauncherTest {
  @TempDir
  Path dir;

  /** Exit status, stdout, stderr of bin/ptwalk with {@code JAVA_HOME} set to {@code javaHome}. */
  private record Result(int status, String out, String err) {}

  private static Result launch(String javaHome, String... args)
      throws IOException, InterruptedException {
    String[] command = new String[args.length + 1];
    command[0] = "../bin/ptwalk";
    System.arraycopy(args, 0, command, 1, args.length);
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("PTWALK_NO_BUILD", "1");
    pb.environment().put("JAVA_HOME", javaHome);
    Process p = pb.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "bin/ptwalk finished");
    return new Result(p.exitValue(),
        new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
        new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  @Test
  void itRunsTheJavaOfJavaHome() throws Exception {
    // A JAVA_HOME whose java only reports how it was called: bin/ptwalk must run that one.
    Path bin = Files.createDirectories(dir.resolve("jdk/bin"));
    Path java = bin.resolve("java");
    Files.writeString(java, "#!/bin/sh\necho \"fake java: $*\"\nexit 7\n");
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    Result r = launch(dir.resolve("jdk").toString(), "--version");
    assertEquals(7, r.status(), r.err());
    assertTrue(r.out().startsWith("fake java: -cp "), r.out());
    assertTrue(r.out().endsWith(" dev.ptwalk.cli.Ptwalk --version\n"), r.out());

    Result real = launch(System.getProperty("java.home"), "--version");
    assertEquals(0, real.status(), real.err());
    assertEquals("ptwalk 0.1.0\n", real.out());
  }

  @Test
  void aJavaHomeWithoutJavaIsRefused() throws Exception {
    String missing = dir.resolve("no-jdk").toString();
    Result r = launch(missing, "demo");
    assertEquals(2, r.status());
    assertEquals("", r.out());
    assertEquals("ptwalk: JAVA_HOME is " + missing + ", which has no bin/java; point JAVA_HOME at"
        + " a JDK 17 or newer, or unset it to use the java on the PATH\n", r.err());
  }
}
