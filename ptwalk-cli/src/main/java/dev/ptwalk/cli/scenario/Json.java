package dev.ptwalk.cli.scenario;

/** The two JSON value forms the scenario output needs. */
final class Json {
  private Json() {}

  /** A JSON string literal. */
  static String string(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        default:
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    return sb.append('"').toString();
  }

  /** An address as a lowercase hex string with {@code 0x}. */
  static String hex(long v) {
    return "\"0x" + Long.toHexString(v) + "\"";
  }
}
