//! Front plots: an SVG with axes, labels and legend, and a PNG of the same scatter (written with
//! a minimal encoder: stored deflate blocks, no dependencies).

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

const W: f64 = 640.0;
const H: f64 = 420.0;
const M: f64 = 60.0;

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
    (M + (d.x - x0) / (x1 - x0) * (W - 2.0 * M), H - M - (d.y - y0) / (y1 - y0) * (H - 2.0 * M))
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
    let _ = writeln!(s, r#"<line x1="{M}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#, H - M, W - M, H - M);
    let _ = writeln!(s, r#"<line x1="{M}" y1="{M}" x2="{M}" y2="{}" stroke="black"/>"#, H - M);
    let (x0, x1, y0, y1) = b;
    for i in 0..=4 {
        let f = i as f64 / 4.0;
        let (px, py) = (M + f * (W - 2.0 * M), H - M - f * (H - 2.0 * M));
        let _ =
            writeln!(s, r#"<text x="{px}" y="{}" text-anchor="middle">{:.3}</text>"#, H - M + 16.0, x0 + f * (x1 - x0));
        let _ =
            writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{:.3}</text>"#, M - 6.0, py + 4.0, y0 + f * (y1 - y0));
    }
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#, W / 2.0, H - 14.0, escape(x_label));
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
        W - 150.0
    );
    s.push_str("</svg>\n");
    s
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The same scatter as a PNG (RGB, no text): axes, front line, points.
pub fn png(dots: &[Dot]) -> Vec<u8> {
    let (w, h) = (W as usize, H as usize);
    let mut px = vec![255u8; w * h * 3];
    let mut put = |x: i64, y: i64, c: [u8; 3]| {
        if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
            let i = (y as usize * w + x as usize) * 3;
            px[i..i + 3].copy_from_slice(&c);
        }
    };
    let b = bounds(dots);
    let (m, hm, wm) = (M as i64, (H - M) as i64, (W - M) as i64);
    for x in m..=wm {
        put(x, hm, [0, 0, 0]);
    }
    for y in m..=hm {
        put(m, y, [0, 0, 0]);
    }
    let line = front_line(dots, b);
    for seg in line.windows(2) {
        let ((x0, y0), (x1, y1)) = (seg[0], seg[1]);
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()) as usize).max(1);
        for k in 0..=steps {
            let t = k as f64 / steps as f64;
            put((x0 + t * (x1 - x0)) as i64, (y0 + t * (y1 - y0)) as i64, [214, 39, 40]);
        }
    }
    for d in dots {
        let (x, y) = to_px(d, b);
        let (r, c) = match d.kind {
            1 => (4, [214, 39, 40]),
            2 => (4, [31, 119, 180]),
            _ => (3, [127, 127, 127]),
        };
        for dy in -r..=r {
            for dx in -r..=r {
                let filled = d.kind != 0 || dx * dx + dy * dy >= (r - 1) * (r - 1);
                if dx * dx + dy * dy <= r * r && filled {
                    put(x as i64 + dx, y as i64 + dy, c);
                }
            }
        }
    }
    encode_png(w, h, &px)
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// An RGB8 image as PNG, with zlib stored (uncompressed) blocks.
pub fn encode_png(w: usize, h: usize, rgb: &[u8]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(h * (1 + w * 3));
    for row in rgb.chunks(w * 3) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push((i + 1 == blocks.len()) as u8);
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + x as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(w as u32).to_be_bytes());
    ihdr.extend_from_slice(&(h as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_has_valid_signature_chunks_and_crcs() {
        let img = png(&[Dot { x: 1.0, y: 2.0, kind: 1 }, Dot { x: 2.0, y: 1.0, kind: 0 }]);
        assert_eq!(&img[..8], &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        // walk the chunks and check every CRC
        let mut at = 8;
        let mut kinds = Vec::new();
        while at < img.len() {
            let len = u32::from_be_bytes(img[at..at + 4].try_into().unwrap()) as usize;
            let body = &img[at + 4..at + 8 + len];
            let crc = u32::from_be_bytes(img[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc32(body), crc);
            kinds.push(String::from_utf8_lossy(&body[..4]).to_string());
            at += 12 + len;
        }
        assert_eq!(kinds, vec!["IHDR", "IDAT", "IEND"]);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
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
