//! Go's `text/tabwriter`, as upstream's CLI uses it: tab-terminated cells,
//! columns aligned within blocks of consecutive lines that have them, the
//! text after a line's last tab not aligned. Reproducing its algorithm is
//! what makes our tables byte-for-byte upstream's, trailing spaces and all.
//! Cell widths ignore ANSI colour sequences, so colour never misaligns.

#[derive(Default)]
pub struct TabWriter {
    padding: usize,
    lines: Vec<Vec<String>>,
    out: String,
}

impl TabWriter {
    pub fn new(padding: usize) -> Self {
        TabWriter {
            padding,
            ..Default::default()
        }
    }

    /// Adds text; every `\n` ends a line, every `\t` a cell.
    pub fn write(&mut self, text: &str) {
        let mut rest = text;
        while let Some(nl) = rest.find('\n') {
            self.push(&rest[..nl]);
            self.end_line();
            rest = &rest[nl + 1..];
        }
        self.push(rest);
    }

    fn push(&mut self, text: &str) {
        if self.lines.is_empty() {
            self.lines.push(vec![String::new()]);
        }
        let mut parts = text.split('\t');
        if let Some(first) = parts.next()
            && let Some(line) = self.lines.last_mut()
            && let Some(cell) = line.last_mut()
        {
            cell.push_str(first);
        }
        for part in parts {
            if let Some(line) = self.lines.last_mut() {
                line.push(part.to_owned());
            }
        }
    }

    fn end_line(&mut self) {
        if self.lines.is_empty() {
            self.lines.push(vec![String::new()]);
        }
        // A line without tabs ends every column block, as in Go.
        let single = self.lines.last().is_some_and(|l| l.len() == 1);
        self.lines.push(vec![String::new()]);
        if single {
            self.flush_lines();
        }
    }

    /// Formats what was written; the text after the last newline is kept
    /// as is, like Go's Flush.
    pub fn finish(mut self) -> String {
        self.flush_lines();
        self.out
    }

    /// Formats every line so far; the last one is the open line, written
    /// without a newline (empty right after one).
    fn flush_lines(&mut self) {
        let lines = std::mem::replace(&mut self.lines, vec![vec![String::new()]]);
        let mut widths = Vec::new();
        format(&lines, 0, lines.len(), &mut widths, self.padding, &mut self.out);
    }
}

pub fn visible_width(s: &str) -> usize {
    let mut n = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

fn format(
    lines: &[Vec<String>],
    mut line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    pad: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, line0, this, widths, out);
        line0 = this;
        let mut width = 0;
        while this < line1 && column + 1 < lines[this].len() {
            width = width.max(visible_width(&lines[this][column]) + pad);
            this += 1;
        }
        widths.push(width);
        format(lines, line0, this, widths, pad, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, line0, line1, widths, out);
}

fn write_lines(lines: &[Vec<String>], from: usize, to: usize, widths: &[usize], out: &mut String) {
    for (i, line) in lines.iter().enumerate().take(to).skip(from) {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() && j + 1 < line.len() {
                let w = visible_width(cell);
                out.extend(std::iter::repeat_n(' ', widths[j].saturating_sub(w)));
            }
        }
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pad: usize, text: &str) -> String {
        let mut w = TabWriter::new(pad);
        w.write(text);
        w.finish()
    }

    #[test]
    fn matches_upstreams_list_table() {
        // Upstream's printer test: trailing cells are padded, the last is not.
        assert_eq!(
            table(3, "NAME\tSTATUS\tAGE\tDURATION\tPRIORITY\nmy-wf\tRunning\t0s\t3s\t2\n"),
            "NAME    STATUS    AGE   DURATION   PRIORITY\nmy-wf   Running   0s    3s         2\n"
        );
        assert_eq!(table(3, "my-wf\tRunning\t0s\t3s\t2\n"), "my-wf   Running   0s   3s   2\n");
    }

    #[test]
    fn blocks_end_where_lines_have_fewer_cells() {
        assert_eq!(table(1, "a\tb\tc\nlong\tx\n\nzz\tq\n"), "a    b c\nlong x\n\nzz q\n");
    }

    #[test]
    fn counts_characters_not_bytes_or_colour() {
        assert_eq!(table(2, "✔ a\tx\n\x1b[32mb\x1b[0m\ty\n"), "✔ a  x\n\x1b[32mb\x1b[0m    y\n");
    }
}
