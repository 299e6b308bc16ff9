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

fn points(story: &Story, achievements: &[usize]) -> f64 {
    achievements.iter().map(|&a| story.achievements[a].points).sum()
}

/// Best route from each scene, computed children first with an explicit stack (a story may be a
/// chain of 100,000 scenes: no recursion). A successor still being computed closes a cycle and
/// counts as no route.
fn search(story: &Story, clean_only: bool) -> Option<Route> {
    let n = story.scenes.len();
    let mut memo: Vec<Option<Option<Route>>> = vec![None; n];
    let mut open = vec![false; n];
    let successors = |s: usize| {
        let scene = &story.scenes[s];
        scene.next.into_iter().chain(scene.choices.iter().map(|c| c.goto))
    };
    let mut stack = vec![(story.start, false)];
    while let Some((s, children_done)) = stack.pop() {
        if memo[s].is_some() {
            continue;
        }
        let scene = &story.scenes[s];
        let here = Route { points: points(story, &scene.achievements), violations: violations(&scene.annotation) };
        let pruned = clean_only && here.violations > 0.0;
        if !children_done {
            if open[s] {
                continue;
            }
            open[s] = true;
            stack.push((s, true));
            if !pruned && !scene.ending {
                stack.extend(successors(s).filter(|&t| memo[t].is_none() && !open[t]).map(|t| (t, false)));
            }
            continue;
        }
        let add = |r: Route, extra_points: f64, extra_violations: f64| Route {
            points: here.points + extra_points + r.points,
            violations: here.violations + extra_violations + r.violations,
        };
        let best = if pruned {
            None
        } else if scene.ending {
            Some(here)
        } else if let Some(next) = scene.next {
            memo[next].flatten().map(|r| add(r, 0.0, 0.0))
        } else {
            let mut best: Option<Route> = None;
            for c in &scene.choices {
                let cv = violations(&c.annotation);
                if clean_only && cv > 0.0 {
                    continue;
                }
                if let Some(r) = memo[c.goto].flatten() {
                    let cand = add(r, points(story, &c.achievements), cv);
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
        open[s] = false;
    }
    memo[story.start].flatten()
}

/// The path to an ending with the most points (fewest violations among ties).
pub fn best_path(story: &Story) -> Route {
    search(story, false).unwrap_or(Route { points: 0.0, violations: 0.0 })
}

/// The path to an ending with the most points among those without any violation, if one exists.
pub fn best_clean_path(story: &Story) -> Option<Route> {
    search(story, true)
}
