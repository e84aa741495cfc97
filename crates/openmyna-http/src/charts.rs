//! Charts rendered on the server as SVG (no script, no external fonts): a horizontal bar
//! chart for rates per group and a line chart for rates over time. Every chart carries a
//! `<title>` and `role="img"` with a description for screen readers; values that are
//! withheld are drawn as "—" and never as zero.

use std::fmt::Write;

pub use openmyna_core::xml_escape;

const PALETTE: [&str; 8] = [
    "#1f5fbf", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#0b7285", "#5c940d", "#495057",
];

/// The colour of the `k`th series (the palette repeats).
fn colour(k: usize) -> &'static str {
    PALETTE.get(k % PALETTE.len()).copied().unwrap_or("#333333")
}

/// One bar: a label and two rates in percent (card holders, insurance registration).
pub struct Bar<'a> {
    pub label: &'a str,
    pub first: Option<f64>,
    pub second: Option<f64>,
}

/// Horizontal bars per group, two per row (the first rate and the second), with an optional
/// target line.
pub fn bar_chart(
    title: &str,
    legend: (&str, &str),
    bars: &[Bar<'_>],
    target: Option<f64>,
) -> String {
    let row_h = 34.0;
    let left = 180.0;
    let width = 640.0;
    let plot_w = width - left - 60.0;
    let top = 48.0;
    let height = top + row_h * bars.len() as f64 + 40.0;
    let x = |v: f64| left + plot_w * v.clamp(0.0, 100.0) / 100.0;
    let mut svg = String::new();
    let desc: Vec<String> = bars
        .iter()
        .map(|b| {
            format!(
                "{}: {} {}, {} {}",
                b.label,
                legend.0,
                fmt_rate(b.first),
                legend.1,
                fmt_rate(b.second)
            )
        })
        .collect();
    open_svg(&mut svg, (width, height), "", 13, title, &desc);
    let _ = write!(
        svg,
        r##"<text x="{left}" y="20" font-weight="bold">{}</text><rect x="{left}" y="28" width="10" height="10" fill="{}"/><text x="{}" y="37">{}</text><rect x="{}" y="28" width="10" height="10" fill="{}"/><text x="{}" y="37">{}</text>"##,
        xml_escape(title),
        PALETTE[0],
        left + 14.0,
        xml_escape(legend.0),
        left + 180.0,
        PALETTE[1],
        left + 194.0,
        xml_escape(legend.1)
    );
    for tick in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = write!(
            svg,
            r##"<line x1="{x}" y1="{top}" x2="{x}" y2="{y2}" stroke="#dee2e6"/><text x="{x}" y="{ty}" text-anchor="middle" fill="#495057">{tick}%</text>"##,
            x = x(tick),
            y2 = height - 34.0,
            ty = height - 18.0
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text>"##,
            left - 8.0,
            y + 20.0,
            xml_escape(b.label)
        );
        for (k, v) in [b.first, b.second].into_iter().enumerate() {
            let by = y + 4.0 + 13.0 * k as f64;
            match v {
                Some(v) => {
                    let _ = write!(
                        svg,
                        r##"<rect x="{left}" y="{by}" width="{w:.1}" height="12" fill="{c}"/><text x="{tx:.1}" y="{ty}" font-size="11">{v:.1}%</text>"##,
                        w = x(v) - left,
                        c = colour(k),
                        tx = x(v) + 4.0,
                        ty = by + 10.0
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        r##"<text x="{}" y="{}" font-size="11" fill="#868e96">— (fewer than 5)</text>"##,
                        left + 4.0,
                        by + 10.0
                    );
                }
            }
        }
    }
    if let Some(t) = target {
        let _ = write!(
            svg,
            r##"<line x1="{x}" y1="{top}" x2="{x}" y2="{y2}" stroke="#c92a2a" stroke-dasharray="4 3"/><text x="{x}" y="{ty}" fill="#c92a2a" font-size="11" text-anchor="middle">target {t}%</text>"##,
            x = x(t),
            y2 = height - 34.0,
            ty = top - 2.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Opens a chart: its size, the title and description read by screen readers (ids
/// `{id}t` and `{id}d`, unique on a page with several charts) and a white background.
fn open_svg(
    svg: &mut String,
    (width, height): (f64, f64),
    id: &str,
    font_size: u32,
    title: &str,
    desc: &[String],
) {
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="{id}t {id}d" font-family="sans-serif" font-size="{font_size}"><title id="{id}t">{}</title><desc id="{id}d">{}</desc><rect width="100%" height="100%" fill="#fff"/>"##,
        xml_escape(title),
        xml_escape(&desc.join("; "))
    );
}

fn fmt_rate(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}%"))
        .unwrap_or_else(|| "withheld".into())
}

/// One line: a name and a value (percent) per point; `None` leaves a gap.
pub struct Line<'a> {
    pub name: &'a str,
    pub values: Vec<Option<f64>>,
}

/// Rates over time: one line per series over the labelled points (dates).
pub fn line_chart(title: &str, points: &[String], lines: &[Line<'_>]) -> String {
    let width = 640.0;
    let height = 320.0;
    let (left, right, top, bottom) = (48.0, 150.0, 36.0, 48.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let n = points.len().max(1);
    let px = |i: usize| {
        if n == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let py = |v: f64| top + plot_h * (1.0 - v.clamp(0.0, 100.0) / 100.0);
    let mut svg = String::new();
    let desc: Vec<String> = lines
        .iter()
        .map(|l| {
            let vals: Vec<String> = points
                .iter()
                .zip(&l.values)
                .map(|(p, v)| format!("{p} {}", fmt_rate(*v)))
                .collect();
            format!("{}: {}", l.name, vals.join(", "))
        })
        .collect();
    open_svg(&mut svg, (width, height), "", 12, title, &desc);
    let _ = write!(
        svg,
        r##"<text x="{left}" y="20" font-weight="bold" font-size="13">{}</text>"##,
        xml_escape(title)
    );
    for tick in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{y}" x2="{x2}" y2="{y}" stroke="#dee2e6"/><text x="{tx}" y="{ty}" text-anchor="end" fill="#495057">{tick}%</text>"##,
            y = py(tick),
            x2 = left + plot_w,
            tx = left - 6.0,
            ty = py(tick) + 4.0
        );
    }
    for (i, p) in points.iter().enumerate() {
        if x_label_shown(i, n) {
            let _ = write!(
                svg,
                r##"<text x="{x}" y="{y}" text-anchor="middle" fill="#495057" font-size="10">{}</text>"##,
                xml_escape(p),
                x = px(i),
                y = height - bottom + 16.0
            );
        }
    }
    for (k, l) in lines.iter().enumerate() {
        let colour = colour(k);
        let mut path = String::new();
        let mut pen_down = false;
        for (i, v) in l.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        px(i),
                        py(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let _ = write!(
                svg,
                r##"<path d="{}" fill="none" stroke="{colour}" stroke-width="2"/>"##,
                path.trim_end()
            );
        }
        for (i, v) in l.values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    svg,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"##,
                    px(i),
                    py(*v)
                );
            }
        }
        let ly = top + 16.0 * k as f64;
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/><text x="{tx}" y="{ty}">{}</text>"##,
            xml_escape(l.name),
            x = width - right + 12.0,
            y = ly,
            tx = width - right + 26.0,
            ty = ly + 9.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Whether the line chart writes the date under point `i` of `n`: about eight labels, the
/// last point's always, and none so close to the last that the two would overlap.
fn x_label_shown(i: usize, n: usize) -> bool {
    let step = n.div_ceil(8).max(1);
    i + 1 == n || (i.is_multiple_of(step) && n - 1 - i >= step)
}

/// Counts per period: grouped vertical bars, one colour per series, the y axis scaled to the
/// largest count.
pub fn count_bars(title: &str, periods: &[String], series: &[(&str, Vec<u64>)]) -> String {
    let (width, height) = (640.0, 300.0);
    let (left, right, top, bottom) = (56.0, 16.0, 44.0, 40.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0);
    // A top that divides into four whole ticks.
    let max = (max.max(4) as f64 / 4.0).ceil() * 4.0;
    let n = periods.len().max(1) as f64;
    let group_w = plot_w / n;
    let bar_w = (group_w * 0.8 / series.len().max(1) as f64).max(1.0);
    let mut svg = String::new();
    let desc: Vec<String> = series
        .iter()
        .map(|(name, v)| {
            let vals: Vec<String> = periods
                .iter()
                .zip(v)
                .map(|(p, c)| format!("{p} {c}"))
                .collect();
            format!("{name}: {}", vals.join(", "))
        })
        .collect();
    open_svg(&mut svg, (width, height), "c", 11, title, &desc);
    let _ = write!(
        svg,
        r##"<text x="{left}" y="18" font-weight="bold" font-size="13">{}</text>"##,
        xml_escape(title)
    );
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let y = top + plot_h * (1.0 - f64::from(k) / 4.0);
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#dee2e6"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="#495057">{v:.0}</text>"##,
            x2 = width - right,
            tx = left - 6.0,
            ty = y + 4.0
        );
    }
    for (i, p) in periods.iter().enumerate() {
        let gx = left + group_w * i as f64 + group_w * 0.1;
        for (k, (_, values)) in series.iter().enumerate() {
            let v = values.get(i).copied().unwrap_or(0) as f64;
            let h = plot_h * v / max;
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}" fill="{c}"/>"##,
                x = gx + bar_w * k as f64,
                y = top + plot_h - h,
                c = colour(k)
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{x:.1}" y="{y}" text-anchor="middle" fill="#495057">{}</text>"##,
            xml_escape(p),
            x = left + group_w * (i as f64 + 0.5),
            y = height - bottom + 14.0
        );
    }
    for (k, (name, _)) in series.iter().enumerate() {
        let x = left + 220.0 * k as f64;
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="26" width="10" height="10" fill="{c}"/><text x="{tx}" y="35">{}</text>"##,
            xml_escape(name),
            c = colour(k),
            tx = x + 14.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_labels_never_crowd_the_last_one() {
        let shown = |n: usize| (0..n).filter(|i| x_label_shown(*i, n)).collect::<Vec<_>>();
        // Ten weekly points: every other one, and the last without its neighbour.
        assert_eq!(shown(10), [0, 2, 4, 6, 9]);
        assert_eq!(shown(9), [0, 2, 4, 6, 8]);
        assert_eq!(shown(13), [0, 2, 4, 6, 8, 10, 12]);
        assert_eq!(shown(3), [0, 1, 2]);
        assert_eq!(shown(1), [0]);
        assert!(shown(61).len() <= 9);
    }

    #[test]
    fn bars_escape_and_show_withheld_values() {
        let svg = bar_chart(
            "取得率 <本部>",
            ("カード取得", "保険証利用登録"),
            &[
                Bar {
                    label: "営業&本部",
                    first: Some(72.5),
                    second: Some(40.0),
                },
                Bar {
                    label: "小さな部",
                    first: None,
                    second: None,
                },
            ],
            Some(80.0),
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("取得率 &lt;本部&gt;"));
        assert!(svg.contains("営業&amp;本部"));
        assert!(svg.contains("72.5%"));
        assert!(svg.contains("fewer than 5"));
        assert!(svg.contains("target 80%"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn count_bars_scale_to_the_largest() {
        let svg = count_bars(
            "登録数",
            &["2026-03".into(), "2026-04".into()],
            &[("利用登録", vec![2, 10]), ("資格情報", vec![0, 5])],
        );
        assert_eq!(svg.matches("<rect x=").count(), 4 + 2, "{svg}");
        assert!(svg.contains("利用登録: 2026-03 2, 2026-04 10"));
        assert!(
            svg.contains(">12</text>"),
            "the top tick: 10 rounded up to whole quarters"
        );
        assert!(svg.contains(">3</text>"));
    }

    #[test]
    fn lines_leave_gaps() {
        let svg = line_chart(
            "推移",
            &[
                "2026-01-31".into(),
                "2026-02-28".into(),
                "2026-03-31".into(),
            ],
            &[Line {
                name: "全社",
                values: vec![Some(10.0), None, Some(30.0)],
            }],
        );
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(svg.matches('M').count(), 2, "{svg}");
    }
}
