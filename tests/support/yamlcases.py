"""Strings near every rule of YAML 1.1 and 1.2: words and numbers each reads differently,
indicators, ':' '-' '.' placements, spaces and quotes. Every one must reach helm as the string."""

TRICKY = ["true", "True", "FALSE", "null", "Null", "~", "yes", "no", "on", "off", "y", "n", "Y", "=", "<<", "", " ",
          "1", "0", "-1", "+1", "007", "0o17", "0x1F", "0b101", "1_000", "1.0", "1.", ".5", "1e5", "1E5", "-1e-5",
          "1e+5", ".inf", "-.inf", ".nan", "1.4.0", "10Gi", "3a063e02", "3e123456", "2001-12-14", "12:30", "1:20:30",
          "190:20:30.15", "--model", "-x", "-", "--", "---", "---x", "...", "..x", "..", ".", ".x", "./a", "...x",
          "../charts/model", "/opt/a.yaml", "a:b", "a:", ":a", "a: b", "max_tokens:128", "http://svc.ns:8000",
          "a#b", "a #b", "#a", "a,b", "[a]", "{a}", "&a", "*a", "!a", "|a", ">a", "'a'", '"a"', "%a", "@a", "`a",
          "a b", "a\nb", "é", "a=b", "a+b", "?a", "? a", "a?"]
