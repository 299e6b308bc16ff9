//! Front plots: an SVG with title, axes, ticks, labels, legend and named baselines, and the same
//! picture as a PNG (the SVG rendered by resvg).

use std::fmt::Write;

/// A point to draw: x = total cost, y = return.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dot {
    /// Total cost per episode.
    pub x: f64,
    /// Return per episode.
    pub y: f64,
    /// 0 = dominated, 1 = on the front, 2 = a baseline policy.
    pub kind: u8,
}

const W: f64 = 780.0;
const H: f64 = 420.0;
const M: f64 = 60.0;
/// The right margin, where the legend sits, outside the plotted area.
const R: f64 = 200.0;

fn bounds(dots: &[Dot]) -> (f64, f64, f64, f64) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for d in dots {
        x0 = x0.min(d.x);
        x1 = x1.max(d.x);
        y0 = y0.min(d.y);
        y1 = y1.max(d.y);
    }
    if !x0.is_finite() || dots.is_empty() {
        return (0.0, 1.0, 0.0, 1.0);
    }
    let pad = |a: f64, b: f64| if b - a < 1e-9 { (a - 1.0, b + 1.0) } else { (a - 0.05 * (b - a), b + 0.05 * (b - a)) };
    let (x0, x1) = pad(x0, x1);
    let (y0, y1) = pad(y0, y1);
    (x0, x1, y0, y1)
}

fn to_px(d: &Dot, b: (f64, f64, f64, f64)) -> (f64, f64) {
    let (x0, x1, y0, y1) = b;
    (M + (d.x - x0) / (x1 - x0) * (W - M - R), H - M - (d.y - y0) / (y1 - y0) * (H - 2.0 * M))
}

/// Ticks at round numbers (1, 2 or 5 times a power of ten apart, about six of them) inside
/// `lo..=hi`, with the decimals their step needs.
fn ticks(lo: f64, hi: f64) -> (Vec<f64>, usize) {
    let raw = (hi - lo) / 5.0;
    if !(raw.is_finite() && raw > 0.0) {
        return (vec![lo], 0);
    }
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * p).find(|s| *s >= raw).unwrap_or(10.0 * p);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let first = (lo / step).ceil();
    // `+ 0.0` turns a -0 into 0, which would print as "-0".
    let values =
        (0..).map(|i| (first + i as f64) * step + 0.0).take_while(|v| *v <= hi + step * 1e-9).take(20).collect();
    (values, decimals)
}

fn front_line(dots: &[Dot], b: (f64, f64, f64, f64)) -> Vec<(f64, f64)> {
    let mut front: Vec<&Dot> = dots.iter().filter(|d| d.kind == 1).collect();
    front.sort_by(|a, c| a.x.total_cmp(&c.x));
    front.iter().map(|d| to_px(d, b)).collect()
}

/// The plot as SVG; `names[k]` labels the k-th baseline dot (its policy, e.g. `llm_ethical`).
pub fn svg(title: &str, x_label: &str, dots: &[Dot], names: &[&str]) -> String {
    let b = bounds(dots);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#, W / 2.0, escape(title));
    let _ = writeln!(s, r#"<line x1="{M}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#, H - M, W - R, H - M);
    let _ = writeln!(s, r#"<line x1="{M}" y1="{M}" x2="{M}" y2="{}" stroke="black"/>"#, H - M);
    let (x0, x1, y0, y1) = b;
    let (xs, xd) = ticks(x0, x1);
    for x in xs {
        let (px, _) = to_px(&Dot { x, y: y0, kind: 0 }, b);
        let _ = writeln!(s, r#"<line x1="{px:.1}" y1="{}" x2="{px:.1}" y2="{}" stroke="black"/>"#, H - M, H - M + 4.0);
        let _ = writeln!(s, r#"<text x="{px:.1}" y="{}" text-anchor="middle">{x:.xd$}</text>"#, H - M + 18.0);
    }
    let (ys, yd) = ticks(y0, y1);
    for y in ys {
        let (_, py) = to_px(&Dot { x: x0, y, kind: 0 }, b);
        let _ = writeln!(s, r#"<line x1="{}" y1="{py:.1}" x2="{M}" y2="{py:.1}" stroke="black"/>"#, M - 4.0);
        let _ = writeln!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{y:.yd$}</text>"#, M - 6.0, py + 4.0);
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        M + (W - M - R) / 2.0,
        H - 14.0,
        escape(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">return per episode</text>"#,
        H / 2.0,
        H / 2.0
    );
    let line: Vec<String> = front_line(dots, b).iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    if line.len() > 1 {
        let _ =
            writeln!(s, r##"<polyline points="{}" fill="none" stroke="#d62728" stroke-width="1.5"/>"##, line.join(" "));
    }
    let mut names = names.iter();
    for d in dots {
        let (x, y) = to_px(d, b);
        let _ = match d.kind {
            1 => writeln!(s, r##"<circle cx="{x:.1}" cy="{y:.1}" r="5" fill="#d62728"/>"##),
            2 => {
                let label = names.next().map_or(String::new(), |n| {
                    format!(r##"<text x="{:.1}" y="{:.1}" fill="#1f77b4">{}</text>"##, x + 8.0, y - 6.0, escape(n))
                });
                writeln!(
                    s,
                    r##"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="#1f77b4"/>{label}"##,
                    x - 5.0,
                    y - 5.0
                )
            }
            _ => writeln!(s, r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="none" stroke="#7f7f7f"/>"##),
        };
    }
    let _ = writeln!(
        s,
        r##"<g transform="translate({}, 44)"><circle cx="0" cy="0" r="5" fill="#d62728"/><text x="10" y="4">non-dominated</text><circle cx="0" cy="18" r="4" fill="none" stroke="#7f7f7f"/><text x="10" y="22">dominated</text><rect x="-5" y="31" width="10" height="10" fill="#1f77b4"/><text x="10" y="40">baseline</text></g>"##,
        W - R + 30.0
    );
    s.push_str("</svg>\n");
    s
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The SVG rendered as a PNG (resvg, with the system's fonts): the same title, axes, ticks,
/// labels, legend and named baselines. Text needs a font the system has (any sans-serif, e.g.
/// DejaVu); `Err` says why a picture could not be made.
pub fn png(svg: &str) -> Result<Vec<u8>, String> {
    let mut options = resvg::usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    // "sans-serif" means Arial to fontdb; use a sans family this system has
    let have: Vec<String> = fonts.faces().flat_map(|f| f.families.iter().map(|(name, _)| name.clone())).collect();
    let family = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans", "FreeSans"]
        .iter()
        .map(|f| f.to_string())
        .find(|f| have.contains(f))
        .or_else(|| have.first().cloned());
    if let Some(f) = family {
        fonts.set_sans_serif_family(f);
    }
    let tree = resvg::usvg::Tree::from_str(svg, &options).map_err(|e| format!("the plot's SVG does not parse: {e}"))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("the plot has no area")?;
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| format!("cannot encode the PNG: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_inside_the_range() {
        assert_eq!(ticks(-0.37, 23.1), (vec![0.0, 5.0, 10.0, 15.0, 20.0], 0));
        assert_eq!(ticks(0.0, 1.0).1, 1);
        assert_eq!(ticks(0.0, 1.0).0.len(), 6, "0, 0.2, ..., 1");
        assert_eq!(ticks(-201.0, 23.3), (vec![-200.0, -150.0, -100.0, -50.0, 0.0], 0));
        let (t, d) = ticks(0.012, 0.047);
        assert_eq!(d, 2);
        assert!(t.iter().all(|v| (0.012..=0.047).contains(v)) && t.len() >= 3, "{t:?}");
    }

    #[test]
    fn the_legend_is_outside_the_plotted_area() {
        let dots = [Dot { x: 10.0, y: 5.0, kind: 1 }, Dot { x: 0.0, y: 0.0, kind: 2 }];
        let svg = svg("t", "cost", &dots, &["random"]);
        let (x, _) = to_px(&dots[0], bounds(&dots));
        assert!(x <= W - R, "the rightmost point at {x} is left of the legend at {}", W - R + 30.0);
        assert!(svg.contains(&format!("translate({}, 44)", W - R + 30.0)));
        assert!(!svg.contains(".000<"), "no unrounded tick labels:\n{svg}");
    }

    #[test]
    fn the_png_draws_what_the_svg_has_text_included() {
        let dots = [Dot { x: 1.0, y: 2.0, kind: 1 }, Dot { x: 2.0, y: 1.0, kind: 0 }, Dot { x: 1.5, y: 0.0, kind: 2 }];
        let with_text = svg("A title that must show", "cost", &dots, &["random"]);
        let img = png(&with_text).expect("renders");
        assert_eq!(&img[..8], &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        // decode with tiny-skia and look at the title's band: text leaves dark pixels there
        let dark_in_title = |bytes: &[u8]| {
            let p = resvg::tiny_skia::Pixmap::decode_png(bytes).expect("a PNG");
            assert_eq!((p.width(), p.height()), (W as u32, H as u32));
            (12..30)
                .flat_map(|y| (150..490).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    let c = p.pixel(x, y).expect("inside");
                    c.red() < 128 && c.green() < 128 && c.blue() < 128
                })
                .count()
        };
        assert!(dark_in_title(&img) > 50, "the title is drawn (a system font is needed)");
        let untitled = png(&with_text.replace("A title that must show", "")).expect("renders");
        assert_eq!(dark_in_title(&untitled), 0);
        assert!(png("<not svg").is_err());
    }

    #[test]
    fn svg_marks_front_dominated_and_baseline_points() {
        let s = svg(
            "t",
            "cost",
            &[
                Dot { x: 0.0, y: 1.0, kind: 1 },
                Dot { x: 1.0, y: 2.0, kind: 1 },
                Dot { x: 1.0, y: 0.5, kind: 0 },
                Dot { x: 0.5, y: 0.0, kind: 2 },
            ],
            &["llm_ethical"],
        );
        assert_eq!(s.matches("fill=\"#d62728\"/>").count(), 3, "two front points and the legend");
        assert!(s.contains("<polyline") && s.contains("<rect x="));
        assert!(s.contains(">llm_ethical</text>"), "the baseline is named");
    }
}
