//! `report.html`: one self-contained page (inline CSS and SVG, nothing fetched) with the
//! tables of `report.md` and the charts.

use std::fmt::Write;

use anyhow::Result;

use super::scaling;
use super::Exporter;
use super::aggregate::Report;
use super::charts::{self, Chart};
use super::pictures;
use super::energy;
use super::tables::{self, Table};

pub struct Html;

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222;background:#f6f6f6}
main{max-width:1240px;margin:0 auto;padding:12px 16px 48px}
h1{font-size:1.6em;margin-bottom:.2em}
h2{margin-top:2em;border-bottom:2px solid #ccc}
h3{margin:1.4em 0 .4em;font-size:1.05em}
.meta,.note{color:#555;font-size:14px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:12.5px;background:#fff}
th,td{border:1px solid #ddd;padding:3px 5px;text-align:left;vertical-align:top}
th{background:#eee}
.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
figure{margin:1.2em 0;background:#fff;border:1px solid #ddd;padding:10px}
figcaption{font-weight:600;margin-bottom:6px}
figure svg{display:block;width:100%;height:auto}
figure img{display:block;max-width:min(100%,640px);height:auto}
details{margin:1em 0}
summary{cursor:pointer;font-weight:600}";

impl Exporter for Html {
    fn file_name(&self) -> &'static str {
        "report.html"
    }

    fn render(&self, r: &Report) -> Result<String> {
        let title = escape(&tables::title(r));
        let mut s = format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n<main>\n\
             <h1>{title}</h1>\n<p class=\"meta\">{}</p>\n",
            escape(&tables::provenance(r))
        );
        table(&mut s, &tables::instances(r))?;
        let mut embedded = 0;
        for w in &r.workloads {
            let id = slug(&format!("{}-{}", w.workload, w.model));
            writeln!(
                s,
                "<section id=\"{id}\">\n<h2>{} · {}</h2>",
                escape(&w.workload),
                escape(&w.model)
            )?;
            table(&mut s, &tables::results(w))?;
            if let Some(t) = tables::confusion(w) {
                table(&mut s, &t)?;
            }
            for chart in charts::charts(w)? {
                figure(&mut s, &id, &chart)?;
            }
            predictions(&mut s, &id, w, &mut embedded)?;
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
            s += "<details>\n<summary>Phases per run, in numbers</summary>\n";
            table(&mut s, &tables::phases(w))?;
            s += "</details>\n</section>\n";
        }
        if let Some(t) = tables::unfinished(r) {
            s += "<h2 id=\"unfinished\">Runs that did not finish</h2>\n";
            table(&mut s, &t)?;
        }
        s += "<h2>Notes</h2>\n<ul class=\"note\">\n";
        for n in tables::NOTES {
            writeln!(s, "<li>{}</li>", escape(n))?;
        }
        s += "</ul>\n</main>\n</body>\n</html>\n";
        Ok(s)
    }
}

fn table(s: &mut String, t: &Table) -> Result<()> {
    let class = |right: bool| if right { " class=\"num\"" } else { "" };
    writeln!(
        s,
        "<h3>{}</h3>\n<div class=\"scroll\"><table>\n<tr>",
        escape(&t.title)
    )?;
    for (name, right) in &t.columns {
        write!(s, "<th{}>{}</th>", class(*right), escape(name))?;
    }
    s.push_str("</tr>\n");
    for row in &t.rows {
        s.push_str("<tr>");
        for (cell, (_, right)) in row.iter().zip(&t.columns) {
            write!(s, "<td{}>{}</td>", class(*right), escape(cell))?;
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table></div>\n");
    Ok(())
}

fn figure(s: &mut String, section: &str, c: &Chart) -> Result<()> {
    writeln!(
        s,
        "<figure id=\"{section}-{}\">\n<figcaption>{}</figcaption>",
        c.id,
        escape(c.title)
    )?;
    // plotters escapes the text it writes into the SVG.
    if let Some(svg) = &c.svg {
        s.push_str(svg);
    }
    writeln!(s, "<p class=\"note\">{}</p>\n</figure>", escape(&c.note))?;
    Ok(())
}

/// The embedded pictures of all sections together stay under this, so the page stays light.
const MAX_EMBEDDED: usize = 8 << 20;

/// The picture of each configuration's last run, embedded; `embedded` counts the bytes so far.
fn predictions(
    s: &mut String,
    section: &str,
    w: &super::aggregate::Workload,
    embedded: &mut usize,
) -> Result<()> {
    let with: Vec<_> = w.groups.iter().filter(|g| g.picture.is_some()).collect();
    if with.is_empty() {
        return Ok(());
    }
    writeln!(
        s,
        "<h3 id=\"{section}-predictions\">Predictions on validation images (last run of each configuration)</h3>"
    )?;
    for g in with {
        let path = g.picture.as_deref().expect("filtered");
        let label = escape(&g.label());
        writeln!(s, "<figure class=\"picture\">\n<figcaption>{label}</figcaption>")?;
        match pictures::data_uri(path) {
            Ok(uri) if *embedded + uri.len() <= MAX_EMBEDDED => {
                *embedded += uri.len();
                writeln!(s, "<img src=\"{uri}\" alt=\"predictions of {label}\">")?;
            }
            Ok(_) => writeln!(
                s,
                "<p class=\"note\">Not embedded (the page holds {} MiB of pictures already): {}</p>",
                MAX_EMBEDDED >> 20,
                escape(&path.display().to_string())
            )?,
            Err(why) => writeln!(s, "<p class=\"note\">No picture: {}</p>", escape(&why))?,
        }
        writeln!(s, "</figure>")?;
    }
    Ok(())
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML id from a workload's names.
fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_ids_are_plain() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(slug("turtle-mlp-hog"), "turtle-mlp-hog");
        assert_eq!(slug("Key Points/v2"), "key-points-v2");
    }
}
