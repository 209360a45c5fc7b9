package dev.ptwalk.processor.writing.c;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The kernel-style layout rules, each on a line the golden files do not happen to hold. */
class CLayoutTest {
  @Test
  void aLineThatFitsIsLeftAsItIs() {
    assertEquals(List.of("\tx = f(a, b);"), CLayout.statement(1, "x = f(a, b);"));
  }

  @Test
  void argumentsArePackedUnderTheCharacterAfterTheParenthesis() {
    assertEquals(List.of(
        "\t\tsome_function_with_a_long_name(first_argument, second_argument,",
        "\t\t\t\t\t       third_argument);"),
        CLayout.statement(2, "some_function_with_a_long_name(first_argument, second_argument,"
            + " third_argument);"));
  }

  @Test
  void aValueGoesBelowItsVariableWhenThatTakesFewerLines() {
    assertEquals(List.of(
        "\tstruct a_rather_long_structure_name_walk *bwalk_with_long_name =",
        "\t\tcontainer_of(wpwalk, typeof(*bwalk), base);"),
        CLayout.statement(1, "struct a_rather_long_structure_name_walk *bwalk_with_long_name ="
            + " container_of(wpwalk, typeof(*bwalk), base);"));
  }

  @Test
  void conditionsBreakAfterTheirOperatorsAlignedInsideTheIf() {
    assertEquals(List.of(
        "\tif (first_condition_of_many(x) && second_condition_of_many(y) &&",
        "\t    third_condition(z)) {"),
        CLayout.statement(1, "if (first_condition_of_many(x) && second_condition_of_many(y) &&"
            + " third_condition(z)) {"));
  }

  @Test
  void textTheParserDoesNotKnowStaysOnOneLine() {
    String odd = "asm volatile(\"a very long inline assembly string that no one should"
        + " write\" ::: \"memory\");";
    assertEquals(List.of("\t" + odd), CLayout.statement(1, odd));
  }

  @Test
  void aPrototypeThatCannotAlignPutsItsTypeOnALineOfItsOwn() {
    assertEquals(List.of("static int",
        "a_function_whose_name_leaves_no_room_at_all_for_params(pte_t *pte,",
        "\t\t\t\t\t\t       struct mm_walk *walk)"),
        CLayout.signature("static int", "a_function_whose_name_leaves_no_room_at_all_for_params",
            List.of("pte_t *pte", "struct mm_walk *walk"), ""));
  }

  @Test
  void aNameTooLongForEvenThatHasItsParametersOnTheNextLines() {
    String name = "a_function_whose_name_is_so_long_that_no_parameter_fits_after_it_at_all";
    assertEquals(List.of("static int", name + "(", "\tpte_t *pte, unsigned long addr,"
        + " unsigned long end, struct mm_walk *walk)"),
        CLayout.signature("static int", name, List.of("pte_t *pte", "unsigned long addr",
            "unsigned long end", "struct mm_walk *walk"), ""));
  }

  @Test
  void commentTextIsFilledAndAWordTooLongGetsItsOwnLine() {
    String word = "x".repeat(90);
    assertEquals(List.of(" * @name: short words then", " *\t" + word, " *\tand more"),
        CLayout.fill(" * @name: ", " *\t", "short words then " + word + " and more"));
  }

  @Test
  void widthCountsTabsToTheNextMultipleOfEight() {
    assertEquals(8, CLayout.width("\t"));
    assertEquals(8, CLayout.width("   \t"));
    assertEquals(11, CLayout.width("\t   "));
    assertEquals("\t\t\t   ", CLayout.indent(27));
  }
}
