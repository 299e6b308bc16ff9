//! Route analysis of a story: the most rewarding path, and the most rewarding path that commits
//! no violation. Both ignore conditions (an upper bound for stories that use them) and expect the
//! scenes to form a graph without cycles, as the shipped and generated games do.

use super::annotation::Annotation;
use super::story::Story;

/// A path's totals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Route {
    /// Achievement points along it.
    pub points: f64,
    /// Violation counters (the 13 morality categories) that fire along it.
    pub violations: f64,
}

fn violations(a: &Annotation) -> f64 {
    let mut c = [0.0f32; 18];
    a.counters(&mut c);
    c[..13].iter().sum::<f32>() as f64
}

fn search(story: &Story, clean_only: bool) -> Option<Route> {
    fn go(
        story: &Story,
        s: usize,
        clean_only: bool,
        memo: &mut Vec<Option<Option<Route>>>,
        depth: usize,
    ) -> Option<Route> {
        if let Some(v) = memo[s] {
            return v;
        }
        if depth > story.scenes.len() {
            return None; // a cycle: not a simple forward path
        }
        let scene = &story.scenes[s];
        let here = Route {
            points: scene.achievements.iter().map(|&a| story.achievements[a].points).sum(),
            violations: violations(&scene.annotation),
        };
        let best = if clean_only && here.violations > 0.0 {
            None
        } else if scene.ending {
            Some(here)
        } else if let Some(next) = scene.next {
            go(story, next, clean_only, memo, depth + 1)
                .map(|r| Route { points: r.points + here.points, violations: r.violations + here.violations })
        } else {
            let mut best: Option<Route> = None;
            for c in &scene.choices {
                let cv = violations(&c.annotation);
                if clean_only && cv > 0.0 {
                    continue;
                }
                if let Some(r) = go(story, c.goto, clean_only, memo, depth + 1) {
                    let points = here.points
                        + r.points
                        + c.achievements.iter().map(|&a| story.achievements[a].points).sum::<f64>();
                    let cand = Route { points, violations: here.violations + r.violations + cv };
                    if best.is_none_or(|b| {
                        cand.points > b.points || (cand.points == b.points && cand.violations < b.violations)
                    }) {
                        best = Some(cand);
                    }
                }
            }
            best
        };
        memo[s] = Some(best);
        best
    }
    let mut memo = vec![None; story.scenes.len()];
    go(story, story.start, clean_only, &mut memo, 0)
}

/// The path to an ending with the most points (fewest violations among ties).
pub fn best_path(story: &Story) -> Route {
    search(story, false).unwrap_or(Route { points: 0.0, violations: 0.0 })
}

/// The path to an ending with the most points among those without any violation, if one exists.
pub fn best_clean_path(story: &Story) -> Option<Route> {
    search(story, true)
}
