//! `report.md`: GitHub tables, one section per workload.

use std::fmt::Write;

use anyhow::Result;

use super::scaling;
use super::Exporter;
use super::aggregate::Report;
use super::pictures;
use super::energy;
use super::tables::{self, Table};

pub struct Markdown;

impl Exporter for Markdown {
    fn file_name(&self) -> &'static str {
        "report.md"
    }

    fn render(&self, r: &Report) -> Result<String> {
        let mut s = format!(
            "# {}\n\n{}\n\n",
            cell(&tables::title(r)),
            cell(&tables::provenance(r))
        );
        table(&mut s, &tables::instances(r))?;
        for w in &r.workloads {
            writeln!(s, "## {} · {}\n", cell(&w.workload), cell(&w.model))?;
            table(&mut s, &tables::results(w))?;
            if let Some(t) = tables::confusion(w) {
                table(&mut s, &t)?;
            }
            let with: Vec<_> = w.groups.iter().filter(|g| g.picture.is_some()).collect();
            if !with.is_empty() {
                writeln!(s, "### Predictions on validation images (last run of each configuration)\n")?;
                for g in with {
                    let path = pictures::link(&r.out, g.picture.as_deref().expect("filtered"));
                    let target = link_target(&path.display().to_string());
                    let label = cell(&g.label());
                    writeln!(s, "{label}:\n\n![predictions of {label}]({target})\n")?;
                }
            }
            table(&mut s, &tables::ranking(w))?;
            table(&mut s, &tables::to_target(w, r.parity_tol))?;
            if let Some(t) = energy::table(w, r) {
                table(&mut s, &t)?;
            }
            if let Some(t) = scaling::table(w) {
                table(&mut s, &t)?;
            }
            table(&mut s, &tables::backends(w))?;
            if let Some(t) = tables::spread_table(w) {
                table(&mut s, &t)?;
            }
            table(&mut s, &tables::phases(w))?;
        }
        if let Some(t) = tables::unfinished(r) {
            writeln!(s, "## Runs that did not finish\n")?;
            table(&mut s, &t)?;
        }
        writeln!(s, "## Notes\n")?;
        for n in tables::NOTES {
            writeln!(s, "- {n}")?;
        }
        Ok(s)
    }
}

fn table(s: &mut String, t: &Table) -> Result<()> {
    writeln!(s, "### {}\n", cell(&t.title))?;
    let row = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
    writeln!(
        s,
        "{}",
        row(t.columns.iter().map(|(c, _)| cell(c)).collect())
    )?;
    let rule = t
        .columns
        .iter()
        .map(|(_, right)| if *right { "---:" } else { "---" }.to_string());
    writeln!(s, "{}", row(rule.collect()))?;
    for r in &t.rows {
        writeln!(s, "{}", row(r.iter().map(|c| cell(c)).collect()))?;
    }
    writeln!(s)?;
    Ok(())
}

/// Text from the CSV (a cell, a title, a heading) that stays text: one line, Markdown's
/// emphasis, code, link and table characters escaped, no raw HTML.
fn cell(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(one_line.len());
    for c in one_line.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A picture's path as a link target: the characters that would end or split it encoded.
fn link_target(path: &str) -> String {
    path.replace('%', "%25")
        .replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_in_their_column() {
        assert_eq!(cell("a|b\nc  <d>"), "a\\|b c &lt;d&gt;");
    }

    #[test]
    fn text_from_the_csv_stays_text() {
        assert_eq!(
            cell("*bold* _it_ `code` [link](x) # ~~s~~ \\"),
            "\\*bold\\* \\_it\\_ \\`code\\` \\[link\\](x) \\# \\~\\~s\\~\\~ \\\\"
        );
        assert_eq!(link_target("a b/(c)%.png"), "a%20b/%28c%29%25.png");
    }
}
