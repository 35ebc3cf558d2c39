//! `report.md`: GitHub tables, one section per workload.

use std::fmt::Write;

use anyhow::Result;

use super::scaling;
use super::Exporter;
use super::aggregate::Report;
use super::pictures;
use super::tables::{self, Table};

pub struct Markdown;

impl Exporter for Markdown {
    fn file_name(&self) -> &'static str {
        "report.md"
    }

    fn render(&self, r: &Report) -> Result<String> {
        let mut s = format!("# {}\n\n{}\n\n", tables::title(r), tables::provenance(r));
        table(&mut s, &tables::instances(r))?;
        for w in &r.workloads {
            writeln!(s, "## {} · {}\n", w.workload, w.model)?;
            table(&mut s, &tables::results(w))?;
            if let Some(t) = tables::confusion(w) {
                table(&mut s, &t)?;
            }
            let with: Vec<_> = w.groups.iter().filter(|g| g.picture.is_some()).collect();
            if !with.is_empty() {
                writeln!(s, "### Predictions on validation images (last run of each configuration)\n")?;
                for g in with {
                    let path = pictures::link(&r.out, g.picture.as_deref().expect("filtered"));
                    let target = path.display().to_string().replace(' ', "%20");
                    let label = cell(&g.label());
                    writeln!(s, "{label}:\n\n![predictions of {label}]({target})\n")?;
                }
            }
            table(&mut s, &tables::ranking(w))?;
            table(&mut s, &tables::to_target(w, r.parity_tol))?;
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
    writeln!(s, "### {}\n", t.title)?;
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

/// A cell that cannot break the table: one line, pipes escaped, no raw HTML.
fn cell(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_in_their_column() {
        assert_eq!(cell("a|b\nc  <d>"), "a\\|b c &lt;d&gt;");
    }
}
