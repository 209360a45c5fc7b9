package dev.ptwalk.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ptwalk.cli.demo.DriverDemo.Frame;
import dev.ptwalk.cli.demo.DriverDemo.Step;
import dev.ptwalk.cli.demo.DriverDemo.VmaView;
import dev.ptwalk.runtime.cpu.HardwareModel;
import dev.ptwalk.samples.driver.DirtyTrackingDriver;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The demo's page in a real browser: Debian's headless Chromium, driven through its chromedriver
 * with Selenium, opens the page and the test checks through the DOM that every VMA, every sync
 * and every step of the full frames is shown, that the processes' pages line up by file offset,
 * and takes a screenshot ({@code target/demo-page.png}). Skipped, saying so, where no Chromium is
 * installed ({@code apt-get install -y chromium chromium-driver}; {@code .ci/run} does).
 */
@Timeout(300)
class DemoPageBrowserTest {
  private static final Path CHROMIUM =
      Path.of(System.getProperty("ptwalk.chromium", "/usr/bin/chromium"));
  private static final Path CHROMEDRIVER =
      Path.of(System.getProperty("ptwalk.chromedriver", "/usr/bin/chromedriver"));

  @TempDir
  Path dir;

  @Test
  void thePageShowsEveryVmaEverySyncAndEveryStep() throws IOException {
    assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "no browser to test the demo's page in: " + CHROMIUM + " or " + CHROMEDRIVER + " is"
            + " missing; install Debian's chromium and chromium-driver (apt-get install -y"
            + " chromium chromium-driver) to run this test");
    // 9 frames: 1-3 and 7-9 in full, 4-6 added up.
    DriverDemo.Options options = new DriverDemo.Options(42, 9, 12, 32,
        DirtyTrackingDriver.SyncMode.GENERATED, HardwareModel.X86);
    DriverDemo.Result r = DriverDemo.run(options, null, null);
    Path page = dir.resolve("demo.html");
    try (Writer out = Files.newBufferedWriter(page, StandardCharsets.UTF_8)) {
      HtmlReport.write(options, r, out);
    }

    ChromeOptions chrome = new ChromeOptions();
    chrome.setBinary(CHROMIUM.toFile());
    chrome.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--user-data-dir=" + Files.createDirectories(dir.resolve("profile")),
        "--window-size=1400,2600");
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    ChromeDriver browser = new ChromeDriver(service, chrome);
    try {
      browser.get(page.toUri().toString());
      assertEquals("ptwalk demo", browser.getTitle());

      // Every VMA, on the pgoff axis, with its address and its pages.
      for (VmaView v : r.vmas()) {
        WebElement vma = browser.findElement(By.cssSelector("#mapping g[data-vma='" + v.mm()
            + "']"));
        assertTrue(vma.isDisplayed(), v.mm());
        assertTrue(vma.getText().contains(String.format("%s at 0x%x: pgoff %d-%d", v.mm(),
            v.start(), v.pgoff(), v.pgoff() + v.pages() - 1)), vma.getText());
      }

      // Every sync: the full frames as sections, the others as rows of the summary, each once.
      TreeSet<Integer> shown = new TreeSet<>();
      for (WebElement s : browser.findElements(By.cssSelector("section.sync"))) {
        assertTrue(s.isDisplayed());
        assertTrue(shown.add(Integer.parseInt(s.getAttribute("data-frame"))));
      }
      assertEquals(List.of(1, 2, 3, 7, 8, 9), new ArrayList<>(shown));
      for (WebElement row : browser.findElements(By.cssSelector("#summary tr[data-frames]"))) {
        assertTrue(row.isDisplayed());
        String[] range = row.getAttribute("data-frames").split("-");
        for (int f = Integer.parseInt(range[0]); f <= Integer.parseInt(range[1]); f++) {
          assertTrue(shown.add(f), "frame " + f + " shown once");
        }
      }
      assertEquals(9, shown.size(), "every frame: " + shown);

      for (Frame f : r.full()) {
        String section = "section.sync[data-frame='" + f.number() + "'] ";
        // Every step of the sync, in its lane and its place in time.
        List<String> expected = new ArrayList<>();
        for (Step s : f.timeline()) {
          expected.add(s.column() + " " + s.row().name() + " " + s.kind());
        }
        List<String> seen = new ArrayList<>();
        for (WebElement cell : browser.findElements(By.cssSelector(section
            + "table.timeline td.step"))) {
          assertTrue(cell.isDisplayed());
          assertTrue(cell.getSize().getHeight() > 0 && cell.getSize().getWidth() > 0);
          seen.add(cell.getAttribute("data-step") + " " + cell.getAttribute("data-row") + " "
              + cell.getAttribute("data-kind"));
        }
        assertEquals(expected, seen, "frame " + f.number());
        for (DriverDemo.Row lane : f.rows()) {
          assertTrue(browser.findElement(By.cssSelector(section + "table.timeline th[data-row='"
              + lane.name() + "']")).isDisplayed(), lane.toString());
        }

        // The pages before and after, by file offset: the same pgoff in the same column.
        for (String when : List.of("before", "after")) {
          for (VmaView v : r.vmas()) {
            List<WebElement> cells = browser.findElements(By.cssSelector(section
                + "svg[data-when='" + when + "'] g[data-row='" + v.mm() + "'] rect"));
            assertEquals(v.pages(), cells.size(), when + " " + v.mm());
          }
          int xa = browser.findElement(By.cssSelector(section + "svg[data-when='" + when
              + "'] g[data-row='A'] rect[data-pgoff='8']")).getRect().getX();
          int xb = browser.findElement(By.cssSelector(section + "svg[data-when='" + when
              + "'] g[data-row='B'] rect[data-pgoff='8']")).getRect().getX();
          int tick = browser.findElement(By.cssSelector(section + "svg[data-when='" + when
              + "'] text[data-pgoff='8']")).getRect().getX();
          assertEquals(xa, xb, "pgoff 8 of A and of B line up");
          assertTrue(Math.abs(tick - xa) < 18, "the axis labels pgoff 8 above it");
        }
        // The bitmap, the pfn_mkwrite pages and the copied pages.
        assertEquals(f.sync().fromPte().size(), browser.findElements(By.cssSelector(section
            + "g[data-row='bitmap'] rect")).size());
        assertEquals(f.sync().fromMkwrite().size(), browser.findElements(By.cssSelector(section
            + "g[data-row='mkwrite'] rect")).size());
        assertEquals(f.sync().dirtyPages().size(), browser.findElements(By.cssSelector(section
            + "g[data-row='copied'] rect")).size());
      }
      assertEquals("After the last sync the device copy equals CPU memory on every page.",
          browser.findElement(By.id("end-to-end")).getText());

      Path shot = browser.getScreenshotAs(OutputType.FILE).toPath();
      Files.copy(shot, Path.of("target/demo-page.png"), StandardCopyOption.REPLACE_EXISTING);
    } finally {
      browser.quit();
    }
  }
}
