//! Route analysis of a story: the most rewarding path, the most rewarding path that commits no
//! violation, and for each ending the trade-off between points and violations over every route
//! to it. All ignore conditions (an upper bound for stories that use them), count an achievement
//! each time a route passes it, count the violations of each scene and choice on its own, and
//! expect the scenes to form a graph without cycles, as the shipped and generated games do.

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

impl Route {
    fn plus(self, points: f64, violations: f64) -> Route {
        Route { points: self.points + points, violations: self.violations + violations }
    }

    /// More points, or as many with fewer violations.
    fn better(self, other: Route) -> bool {
        self.points > other.points || (self.points == other.points && self.violations < other.violations)
    }
}

fn violations(a: &Annotation) -> f64 {
    let mut c = [0.0f32; 18];
    a.counters(&mut c);
    c[..13].iter().sum::<f32>() as f64
}

fn points(story: &Story, achievements: &[usize]) -> f64 {
    achievements.iter().fold(0.0, |sum, &a| sum + story.achievements[a].points)
}

/// The scenes reachable from the start, each after every scene it leads to (a successor that
/// closes a cycle comes later and is not waited for). An explicit stack: a story may be a chain
/// of 100,000 scenes.
fn children_first(story: &Story) -> Vec<usize> {
    let n = story.scenes.len();
    let (mut open, mut done) = (vec![false; n], vec![false; n]);
    let mut order = Vec::with_capacity(n);
    let mut stack = vec![(story.start, false)];
    while let Some((s, children_done)) = stack.pop() {
        if done[s] || (open[s] && !children_done) {
            continue;
        }
        if children_done {
            done[s] = true;
            order.push(s);
            continue;
        }
        open[s] = true;
        stack.push((s, true));
        let scene = &story.scenes[s];
        stack.extend(scene.next.into_iter().chain(scene.choices.iter().map(|c| c.goto)).map(|t| (t, false)));
    }
    order
}

/// The value of every scene, computed from the values of the scenes it leads to:
/// `combine(scene, here, ways)` gets the scene's own points and violations and, for each way on
/// (its `next`, or each choice), the value there with the choice's own points and violations. A
/// way into a cycle is left out.
fn fold<T>(story: &Story, mut combine: impl FnMut(usize, Route, Vec<(&T, f64, f64)>) -> T) -> Vec<Option<T>> {
    let mut value: Vec<Option<T>> = (0..story.scenes.len()).map(|_| None).collect();
    for s in children_first(story) {
        let scene = &story.scenes[s];
        let here = Route { points: points(story, &scene.achievements), violations: violations(&scene.annotation) };
        let ways = scene
            .next
            .map(|n| (n, 0.0, 0.0))
            .into_iter()
            .chain(scene.choices.iter().map(|c| (c.goto, points(story, &c.achievements), violations(&c.annotation))))
            .filter_map(|(to, p, v)| value[to].as_ref().map(|x| (x, p, v)))
            .collect();
        let v = combine(s, here, ways);
        value[s] = Some(v);
    }
    value
}

fn search(story: &Story, clean_only: bool) -> Option<Route> {
    let mut best = fold(story, |s, here, ways| -> Option<Route> {
        if clean_only && here.violations > 0.0 {
            return None;
        }
        if story.scenes[s].ending {
            return Some(here);
        }
        ways.into_iter()
            .filter(|(_, _, v)| !(clean_only && *v > 0.0))
            .filter_map(|(to, p, v)| to.map(|r| r.plus(here.points + p, here.violations + v)))
            .reduce(|a, b| if b.better(a) { b } else { a })
    });
    best[story.start].take().flatten()
}

/// The path to an ending with the most points (fewest violations among ties).
pub fn best_path(story: &Story) -> Route {
    search(story, false).unwrap_or(Route { points: 0.0, violations: 0.0 })
}

/// The path to an ending with the most points among those without any violation, if one exists.
pub fn best_clean_path(story: &Story) -> Option<Route> {
    search(story, true)
}

/// Keeps the routes no other beats on both counts, by points (most first).
fn pareto(mut routes: Vec<Route>) -> Vec<Route> {
    routes.sort_by(|a, b| b.points.total_cmp(&a.points).then(a.violations.total_cmp(&b.violations)));
    let mut out: Vec<Route> = Vec::new();
    for r in routes {
        if out.last().is_none_or(|last| r.violations < last.violations) {
            out.push(r);
        }
    }
    out
}

/// The trade-off at one ending.
#[derive(Clone, Debug, PartialEq)]
pub struct EndingRoutes {
    /// The ending scene's id.
    pub ending: String,
    /// Routes from the start to it (saturating at `u128::MAX`).
    pub routes: u128,
    /// The routes no other route to this ending beats on both points and violations, most points
    /// first: the most rewarding first, the one with fewest violations last.
    pub front: Vec<Route>,
}

/// For each reachable ending, in story order: how many routes lead there and the points and
/// violations they trade.
pub fn by_ending(story: &Story) -> Vec<EndingRoutes> {
    let mut out = Vec::new();
    for (e, scene) in story.scenes.iter().enumerate().filter(|(_, s)| s.ending) {
        let mut value = fold(story, |s, here, ways| -> (u128, Vec<Route>) {
            if s == e {
                return (1, vec![here]);
            }
            let n = ways.iter().fold(0u128, |n, (to, _, _)| n.saturating_add(to.0));
            let routes = ways
                .iter()
                .flat_map(|(to, p, v)| to.1.iter().map(move |r| r.plus(here.points + p, here.violations + v)))
                .collect();
            (n, pareto(routes))
        });
        if let Some((routes, front)) = value[story.start].take()
            && routes > 0
        {
            out.push(EndingRoutes { ending: scene.id.clone(), routes, front });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORK: &str = r#"
title = "Fork"
start = "a"
[[achievements]]
id = "x"
points = 10
title = "X"
[[achievements]]
id = "y"
points = 5
title = "Y"
[[achievements]]
id = "z"
points = 3
title = "Z"
[scenes.a]
text = "A pedlar."
[[scenes.a.choices]]
text = "Rob him."
goto = "b"
achievements = ["x"]
annotation = { morality = { stealing = 1.0 } }
[[scenes.a.choices]]
text = "Walk on."
goto = "b"
[scenes.b]
text = "A toll."
[[scenes.b.choices]]
text = "Lie."
goto = "end1"
achievements = ["y"]
annotation = { morality = { deception = 1.0 } }
[[scenes.b.choices]]
text = "Pay."
goto = "end2"
achievements = ["z"]
[[scenes.b.choices]]
text = "Go round."
goto = "end1"
[scenes.end1]
text = "Home."
ending = true
[scenes.end2]
text = "Away."
ending = true
"#;

    #[test]
    fn every_ending_gets_the_routes_no_other_route_beats() {
        let story = Story::parse(FORK).expect("valid");
        let r = |points, violations| Route { points, violations };
        // to end1: rob+lie 15/2, rob+round 10/1, walk+lie 5/1 (beaten by 10/1), walk+round 0/0
        // to end2: rob+pay 13/1, walk+pay 3/0
        assert_eq!(
            by_ending(&story),
            vec![
                EndingRoutes { ending: "end1".into(), routes: 4, front: vec![r(15.0, 2.0), r(10.0, 1.0), r(0.0, 0.0)] },
                EndingRoutes { ending: "end2".into(), routes: 2, front: vec![r(13.0, 1.0), r(3.0, 0.0)] },
            ]
        );
        assert_eq!(best_path(&story), r(15.0, 2.0));
        assert_eq!(best_clean_path(&story), Some(r(3.0, 0.0)));
    }
}
