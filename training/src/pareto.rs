//! Reward-ethics Pareto fronts: non-dominated filtering and hypervolume, with the return maximised
//! and every cost minimised (internally all objectives are turned into maximisation, as
//! morl-baselines does).

/// One evaluated policy in objective space.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Mean episode return (maximised).
    pub ret: f64,
    /// Mean episode cost per component (minimised).
    pub costs: Vec<f64>,
}

impl Point {
    fn objectives(&self) -> Vec<f64> {
        std::iter::once(self.ret).chain(self.costs.iter().map(|c| -c)).collect()
    }
}

/// Whether `a` dominates `b`: at least as good in every objective and better in one.
pub fn dominates(a: &Point, b: &Point) -> bool {
    let (x, y) = (a.objectives(), b.objectives());
    x.iter().zip(&y).all(|(p, q)| p >= q) && x.iter().zip(&y).any(|(p, q)| p > q)
}

/// Indices of the non-dominated points, in input order; of identical points only the first is kept.
pub fn non_dominated(points: &[Point]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| !points.iter().enumerate().any(|(j, p)| dominates(p, &points[i]) || (j < i && *p == points[i])))
        .collect()
}

/// Hypervolume of `points` against `reference` (a return lower than any point's and costs higher
/// than any point's): the volume of objective space they dominate. Exact: a sweep in 2-D, and
/// recursive slicing over the first objective in more dimensions. Points that do not improve on
/// the reference in every objective contribute nothing.
pub fn hypervolume(points: &[Point], reference: &Point) -> f64 {
    let r = reference.objectives();
    let pts: Vec<Vec<f64>> = points
        .iter()
        .map(Point::objectives)
        .filter(|p| p.iter().zip(&r).all(|(x, y)| x > y))
        .map(|p| p.iter().zip(&r).map(|(x, y)| x - y).collect())
        .collect();
    volume(pts)
}

/// Volume dominated by points (already shifted so that the reference is the origin, all > 0).
fn volume(mut pts: Vec<Vec<f64>>) -> f64 {
    if pts.is_empty() {
        return 0.0;
    }
    let d = pts[0].len();
    if d == 1 {
        return pts.iter().map(|p| p[0]).fold(0.0, f64::max);
    }
    if d == 2 {
        pts.sort_by(|a, b| b[0].total_cmp(&a[0]));
        let (mut v, mut best_y) = (0.0, 0.0);
        for p in &pts {
            if p[1] > best_y {
                v += p[0] * (p[1] - best_y);
                best_y = p[1];
            }
        }
        return v;
    }
    // Slice along objective 0: between consecutive distinct values, the points reaching at least
    // that far dominate a (d-1)-dimensional volume.
    let mut xs: Vec<f64> = pts.iter().map(|p| p[0]).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let mut v = 0.0;
    let mut prev = 0.0;
    for &x in &xs {
        let slice: Vec<Vec<f64>> = pts.iter().filter(|p| p[0] >= x).map(|p| p[1..].to_vec()).collect();
        v += (x - prev) * volume(slice);
        prev = x;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ret: f64, costs: &[f64]) -> Point {
        Point { ret, costs: costs.to_vec() }
    }

    #[test]
    fn non_dominated_handles_ties_and_duplicates() {
        let pts = vec![
            p(10.0, &[5.0]), // front
            p(8.0, &[2.0]),  // front
            p(8.0, &[3.0]),  // dominated by (8, 2): same return, more cost
            p(10.0, &[5.0]), // duplicate of 0: dropped
            p(4.0, &[0.0]),  // front
            p(3.0, &[1.0]),  // dominated by (4, 0)
            p(10.0, &[6.0]), // dominated by (10, 5)
        ];
        assert_eq!(non_dominated(&pts), vec![0, 1, 4]);
        // two objectives tied in one, different in another: neither dominates
        assert_eq!(non_dominated(&[p(1.0, &[1.0, 2.0]), p(1.0, &[2.0, 1.0])]), vec![0, 1]);
    }

    #[test]
    fn hypervolume_two_d_hand_computed() {
        // reference return 0, cost 10 -> shifted points (ret, 10 - cost)
        let r = p(0.0, &[10.0]);
        // (10, 5) -> (10, 5); (8, 2) -> (8, 8); (4, 0) -> (4, 10)
        // sweep by return: 10*5 + 8*(8-5) + 4*(10-8) = 50 + 24 + 8 = 82
        let front = vec![p(10.0, &[5.0]), p(8.0, &[2.0]), p(4.0, &[0.0])];
        assert_eq!(hypervolume(&front, &r), 82.0);
        // dominated points and duplicates add nothing
        let mut more = front.clone();
        more.push(p(3.0, &[1.0]));
        more.push(p(10.0, &[5.0]));
        assert_eq!(hypervolume(&more, &r), 82.0);
        // points outside the reference box add nothing
        assert_eq!(hypervolume(&[p(-1.0, &[0.0]), p(5.0, &[11.0])], &r), 0.0);
    }

    #[test]
    fn hypervolume_three_d_hand_computed_and_matches_a_grid_count() {
        let r = p(0.0, &[4.0, 4.0]);
        // shifted: a = (2, 3, 1), b = (3, 1, 2)
        // union volume = 2*3*1 + 3*1*2 - overlap (2*1*1) = 6 + 6 - 2 = 10
        let front = vec![p(2.0, &[1.0, 3.0]), p(3.0, &[3.0, 2.0])];
        assert_eq!(hypervolume(&front, &r), 10.0);
        // cross-check with unit cells on a small integer grid
        let pts = [p(3.0, &[1.0, 2.0]), p(1.0, &[0.0, 1.0]), p(2.0, &[2.0, 0.0])];
        let mut cells = 0;
        for x in 0..4 {
            for y in 0..4 {
                for z in 0..4 {
                    let inside = pts
                        .iter()
                        .any(|q| (x as f64) < q.ret && (y as f64) < 4.0 - q.costs[0] && (z as f64) < 4.0 - q.costs[1]);
                    cells += inside as usize;
                }
            }
        }
        assert_eq!(hypervolume(&pts, &r), cells as f64);
    }
}
