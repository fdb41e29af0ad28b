//! The UCI front end: reads `/etc/config/sipwall` as libuci does.
//!
//! Syntax, following libuci's `file.c`: one statement per line (or several
//! separated by `;`); keywords `package`, `config`, `option`, `list` (or
//! their first letter); words may be unquoted, 'single quoted' (no escapes),
//! "double quoted" (backslash takes the next character literally), or
//! several of these glued together (`'it'\''s'`, as `uci export` writes a
//! quote); a backslash at the end of a line continues it; an unquoted `#`
//! starts a comment. Empty option values mean "not set", as with `uci set`.
//!
//! Unlike libuci we are strict where leniency would hide a mistake: extra
//! words after a value, an option given twice, or a repeated section name
//! are errors (uci itself never writes those).

use std::path::Path;

use super::error::ConfigError;
use super::raw::{RawOption, RawSection};

/// Reads UCI text into raw sections (no meaning yet).
pub fn read(text: &str, file: &Path) -> Result<Vec<RawSection>, ConfigError> {
    let err = |line: usize, msg: String| Err(ConfigError::new(msg).at_line(line).in_file(file));
    let mut sections: Vec<RawSection> = Vec::new();
    // A byte-order mark from a Windows editor is not part of the first word.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, first)) = lines.next() {
        let line_no = i + 1;
        // A backslash at the very end continues the statement on the next line.
        let mut logical = first.to_string();
        while continues(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next),
                None => break,
            }
        }
        let statements = match split_words(&logical) {
            Ok(s) => s,
            Err(msg) => return err(line_no, msg),
        };
        for words in statements {
            let Some(keyword) = words.first() else {
                continue;
            };
            let args = &words[1..];
            match keyword.as_str() {
                "package" | "p" => {
                    if args.first().is_some_and(|p| p != "sipwall") {
                        return err(
                            line_no,
                            format!("expected 'package sipwall', got 'package {}'", args[0]),
                        );
                    }
                }
                "config" | "c" => {
                    let Some(kind) = args.first() else {
                        return err(
                            line_no,
                            "expected a section type after 'config' (e.g. config knock 'phones')"
                                .into(),
                        );
                    };
                    let name = args.get(1).filter(|n| !n.is_empty()).cloned();
                    if let Some(extra) = args.get(2) {
                        return err(line_no, format!(
                            "unexpected '{extra}' after config {kind} '{}': a section has a type and at most one name",
                            name.as_deref().unwrap_or("")
                        ));
                    }
                    if !is_uci_name(kind) {
                        return err(
                            line_no,
                            format!(
                                "expected a section type of letters, digits and '_', got '{kind}'"
                            ),
                        );
                    }
                    if let Some(n) = &name {
                        if !is_uci_name(n) {
                            return err(line_no, format!(
                                "expected a section name of letters, digits and '_' (uci rule), got '{n}'"
                            ));
                        }
                        if let Some(prev) = sections.iter().find(|s| s.name.as_deref() == Some(n)) {
                            return err(line_no, format!(
                                "section name '{n}' is already used by the {} section on line {}: names must be unique",
                                prev.kind, prev.line
                            ));
                        }
                    }
                    sections.push(RawSection {
                        kind: kind.clone(),
                        name,
                        line: line_no,
                        options: Vec::new(),
                    });
                }
                "option" | "o" | "list" | "l" => {
                    let is_list = keyword.starts_with('l');
                    let Some(section) = sections.last_mut() else {
                        return err(line_no, format!("'{keyword}' before the first 'config' line: options belong to a section"));
                    };
                    let Some(name) = args.first() else {
                        return err(
                            line_no,
                            format!("expected an option name after '{keyword}'"),
                        );
                    };
                    if !is_uci_name(name) {
                        return err(
                            line_no,
                            format!(
                                "expected an option name of letters, digits and '_', got '{name}'"
                            ),
                        );
                    }
                    if let Some(extra) = args.get(2) {
                        return err(line_no, format!(
                            "unexpected '{extra}' after the value of '{name}': quote values that contain spaces"
                        ));
                    }
                    let value = args.get(1).cloned().unwrap_or_default();
                    match section.options.iter_mut().find(|o| o.name == *name) {
                        Some(o) if is_list && o.list => {
                            if !value.is_empty() {
                                o.values.push(value);
                            }
                        }
                        Some(o) => {
                            return err(line_no, format!(
                                "option '{name}' is already set on line {} in this section: set it once (or use 'list' for several values)",
                                o.line
                            ));
                        }
                        None => section.options.push(RawOption {
                            name: name.clone(),
                            list: is_list,
                            values: if value.is_empty() {
                                Vec::new()
                            } else {
                                vec![value]
                            },
                            line: line_no,
                        }),
                    }
                }
                other => {
                    let hint =
                        super::schema::did_you_mean(other, ["config", "option", "list", "package"]);
                    return err(line_no, format!(
                        "expected 'config', 'option' or 'list' at the start of a line, got '{other}'{hint}"
                    ));
                }
            }
        }
    }
    Ok(sections)
}

/// uci's `uci_validate_name`: letters, digits and `_`.
pub fn is_uci_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A line continues when it ends in a backslash that is outside single
/// quotes, not itself escaped, and not inside a comment.
fn continues(line: &str) -> bool {
    let mut in_single = false;
    let mut in_double = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' if !in_double => in_single = !in_single,
            '"' if !in_single => in_double = !in_double,
            '#' if !in_single && !in_double => return false,
            '\\' if !in_single && chars.next().is_none() => return true,
            _ => {}
        }
    }
    false
}

/// Splits one logical line into statements (`;`), each a list of words.
fn split_words(line: &str) -> Result<Vec<Vec<String>>, String> {
    let mut statements = vec![Vec::new()];
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        if c == '#' {
            break;
        }
        if c == ';' {
            chars.next();
            statements.push(Vec::new());
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            match c {
                '\'' => {
                    chars.next();
                    loop {
                        match chars.next() {
                            Some('\'') => break,
                            Some(ch) => word.push(ch),
                            None => return Err("unterminated ' (a single-quoted value must close on the same line)".into()),
                        }
                    }
                }
                '"' => {
                    chars.next();
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some(ch) => word.push(ch),
                                None => return Err("unterminated \" (a backslash ends the line)".into()),
                            },
                            Some(ch) => word.push(ch),
                            None => return Err("unterminated \" (a double-quoted value must close on the same line)".into()),
                        }
                    }
                }
                '\\' => {
                    chars.next();
                    if let Some(ch) = chars.next() {
                        word.push(ch);
                    }
                }
                '#' => {
                    // An unquoted '#' ends the line, even inside a word.
                    if let Some(s) = statements.last_mut() {
                        s.push(word);
                    }
                    return Ok(statements);
                }
                ';' => break,
                c if c.is_whitespace() => break,
                c => {
                    chars.next();
                    word.push(c);
                }
            }
        }
        if let Some(s) = statements.last_mut() {
            s.push(word);
        }
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Vec<String>> {
        split_words(line).unwrap()
    }

    #[test]
    fn quoting_follows_libuci() {
        assert_eq!(words("option a 'b c'"), [["option", "a", "b c"]]);
        assert_eq!(
            words(r#"option a "b \"c\" \\ d""#),
            [["option", "a", r#"b "c" \ d"#]]
        );
        assert_eq!(words(r"option a 'it'\''s'"), [["option", "a", "it's"]]);
        assert_eq!(words("option a unquoted"), [["option", "a", "unquoted"]]);
        assert_eq!(words("option a 'x'\"y\"z"), [["option", "a", "xyz"]]);
        assert_eq!(
            words("option a 'has # hash' # comment"),
            [["option", "a", "has # hash"]]
        );
        assert_eq!(words("option a b#c"), [["option", "a", "b"]]);
        assert_eq!(words("option a ''"), [["option", "a", ""]]);
        assert_eq!(words("\t  # only a comment"), [Vec::<String>::new()]);
        assert_eq!(
            words("config x; option a 1"),
            [vec!["config", "x"], vec!["option", "a", "1"]]
        );
        assert_eq!(
            words(r"option a 'back\slash'"),
            [["option", "a", r"back\slash"]]
        );
    }

    #[test]
    fn unterminated_quotes_are_errors() {
        assert!(split_words("option a 'b")
            .unwrap_err()
            .contains("unterminated '"));
        assert!(split_words("option a \"b")
            .unwrap_err()
            .contains("unterminated \""));
    }

    #[test]
    fn reads_sections_options_lists_and_continuations() {
        let text = "package sipwall\n\nconfig sipwall 'global'\n\toption enabled '1'\n\tlist udp_port 5060\n\tlist udp_port \\\n  5080\n\nconfig knock phones\n\toption secret 'x'\n";
        let s = read(text, Path::new("t")).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].kind, "sipwall");
        assert_eq!(s[0].name.as_deref(), Some("global"));
        assert_eq!(s[0].option("udp_port").unwrap().values, ["5060", "5080"]);
        assert_eq!(s[0].option("udp_port").unwrap().line, 5);
        assert_eq!(s[1].line, 9);
        assert_eq!(s[1].option("secret").unwrap().line, 10);
    }

    #[test]
    fn strictness_catches_mistakes_uci_would_hide() {
        let e = |t: &str| {
            read(t, Path::new("/etc/config/sipwall"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("option enabled 1\n"),
            "/etc/config/sipwall:1: 'option' before the first 'config' line: options belong to a section"
        );
        assert!(e("config sipwall\n option enabled 1\n option enabled 0\n")
            .starts_with("/etc/config/sipwall:3: option 'enabled' is already set on line 2"));
        assert!(e("config domain\n option host sip example\n").contains("unexpected 'example'"));
        assert!(e("config knock a\nconfig knock a\n").contains("section name 'a' is already used"));
        assert!(e("config knock 'a-b'\n").contains("section name of letters"));
        assert!(e("confg sipwall\n").contains("(did you mean 'config'?)"));
        assert!(e("package other\n").contains("expected 'package sipwall'"));
    }

    #[test]
    fn windows_line_ends_and_byte_order_mark_are_read() {
        let s = read(
            "\u{feff}config sipwall 'global'\r\n\toption enabled '0'\r\n",
            Path::new("t"),
        )
        .unwrap();
        assert_eq!(s[0].name.as_deref(), Some("global"));
        assert_eq!(s[0].option("enabled").unwrap().values, ["0"]);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for t in [
            "\\",
            "'",
            "\"\\",
            "config",
            "option",
            "list a",
            ";;;",
            "c x;o",
            "\u{0}",
            "config a b c",
            "#\\\nx",
        ] {
            let _ = read(t, Path::new("t"));
        }
    }
}
