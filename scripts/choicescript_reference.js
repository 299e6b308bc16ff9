// Plays a ChoiceScript game in the reference interpreter along a fixed route and prints what a
// player sees, one JSON line per decision: {"narration": ..., "options": [...]}, then a last line
// {"end": "ending" | "error" | "cut", "narration": ..., "error": ...}.
//
// The reference interpreter is not part of moralgym (its licence forbids reuse): this script loads
// it from a local checkout named by CHOICESCRIPT_REF (a clone of dfabulich/choicescript) and
// replaces only its screen, as its own headless tester does. Used by scripts/choicescript_diff.py.
//
// usage: CHOICESCRIPT_REF=DIR node choicescript_reference.js GAME_DIR ROUTE MAX_DECISIONS SEED
//   ROUTE: first | last | cycle | picks:3,0,7,... (each pick taken modulo the options offered)
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const ref = process.env.CHOICESCRIPT_REF;
const [gameDir, route, maxArg, seedArg] = process.argv.slice(2);
if (!ref || !gameDir || !route) {
  console.error('usage: CHOICESCRIPT_REF=DIR node choicescript_reference.js GAME_DIR ROUTE [MAX_DECISIONS] [SEED]');
  process.exit(2);
}
const maxDecisions = Number(maxArg || 200);
global.fs = fs;
global.path = path;
for (const file of ['web/scene.js', 'web/navigator.js', 'web/util.js', 'headless.js']) {
  vm.runInThisContext(fs.readFileSync(path.join(ref, file), 'utf8'), { filename: file });
}

const picks = route.startsWith('picks:') ? route.slice(6).split(',').map(Number) : null;
function pick(decision, n) {
  if (route === 'first') return 0;
  if (route === 'last') return n - 1;
  if (route === 'cycle') return decision % n;
  return (picks[decision] || 0) % n;
}

// The screen: paragraphs of the current passage, a blank line between two.
let page = [];
const keep = (msg) => {
  if (msg !== undefined && msg !== null && String(msg) !== '') page.push(String(msg));
};
global.printParagraph = keep;
global.println = keep;
global.printx = keep;
global.printButton = () => {};
global.clearScreen = (code) => { global.timeout = code; };
global.saveCookie = (callback) => { if (callback) global.timeout = callback; };
global.achieve = () => {};
function passage() {
  const text = page.join('\n\n').replace(/\[n\/\]/g, '\n').replace(/\[c\/\]/g, '');
  page = [];
  return text;
}

function emit(record) {
  process.stdout.write(JSON.stringify(record) + '\n');
}

class Stop extends Error {}
let decisions = 0;
let ended = false;

Scene.prototype.loadScene = function loadScene() {
  const file = path.join(gameDir, this.name + '.txt');
  if (!fs.existsSync(file)) throw new Error(`couldn't open ${this.name}.txt`);
  // Without the byte-order mark, as the reference's own file loaders read a scene.
  this.loadLines(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  this.loaded = true;
  if (this.executing) this.execute();
};
// A choice of several groups is offered as moralgym offers it: one option per path through the
// groups (every option on it selectable), the names joined by " / ", leading to the last option's body.
Scene.prototype.renderOptions = function renderOptions(groups, options, callback) {
  const paths = [];
  const walk = (opts, names) => {
    for (const o of opts) {
      if (o.unselectable) continue;
      const here = names.concat(this.replaceVariables(o.name));
      if (o.suboptions) walk(o.suboptions, here);
      else paths.push({ name: here.join(' / '), option: o });
    }
  };
  walk(options, []);
  this.paragraph();
  if (decisions >= maxDecisions) throw new Stop();
  emit({ narration: passage(), options: paths.map((p) => p.name) });
  const k = pick(decisions, paths.length);
  decisions += 1;
  global.timeout = () => callback(paths[k].option);
};
Scene.prototype.page_break = function page_break() {
  this.paragraph();
  this.finished = false;
};
Scene.prototype.finish = Scene.prototype.autofinish = function finish() {
  const next = this.nav.nextSceneName(this.name);
  this.paragraph();
  this.finished = true;
  if (!next) {
    ended = true;
    return;
  }
  const scene = new Scene(next, this.stats, this.nav, this.debugMode);
  global.timeout = () => scene.execute();
};
Scene.prototype.ending = Scene.prototype.restart = Scene.prototype.delay_ending = function ending() {
  this.paragraph();
  this.finished = true;
  ended = true;
};
Scene.prototype.check_purchase = function checkPurchase(data) {
  for (const product of data.split(/ /)) this.temps['choice_purchased_' + product] = true;
  this.temps.choice_purchase_supported = false;
  this.temps.choice_purchased_everything = true;
};
for (const noop of ['save', 'subscribe', 'save_game', 'delay_break', 'advertisement', 'share_this_game', 'more_games']) {
  Scene.prototype[noop] = () => {};
}
// Inputs keep the variable's current value (a number clamped to the range), as moralgym does
// when its sidecar gives none.
Scene.prototype.input_text = function inputText(line) {
  const variable = this.parseInputText(line).variable;
  this.setVar(variable, this.getVar(variable));
};
Scene.prototype.input_number = function inputNumber(data) {
  const [variable, lo, hi] = data.split(/\s+/);
  const value = Math.min(Math.max(Number(this.getVar(variable.toLowerCase())), Number(lo)), Number(hi));
  this.setVar(variable.toLowerCase(), Number.isNaN(value) ? Number(lo) : value);
};
Scene.prototype.stat_chart = function statChart() {
  this.parseStatChart();
};

const nav = (global.nav = new SceneNavigator(['startup']));
const stats = (global.stats = {});
nav.setStartingStatsClone(stats);
nav.resetStats(stats);
// Random draws (`*rand`, `*goto_random_scene`) come from moralgym's own stream for the same seed
// (xoshiro256++ seeded by SplitMix64, as envs/src/api/rng.rs; a float is the top 53 bits), so that
// routes through them compare: the reference's `floor(u * n)` then picks what moralgym's `below(n)`
// picks (they differ only when the 11 bits a float drops carry past an integer, about n in 2^53).
Math.random = (() => {
  const M = (1n << 64n) - 1n;
  let sm = BigInt(seedArg || 0) & M;
  const splitmix = () => {
    sm = (sm + 0x9e3779b97f4a7c15n) & M;
    let z = sm;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    return z ^ (z >> 31n);
  };
  const s = [splitmix(), splitmix(), splitmix(), splitmix()];
  const rotl = (x, k) => ((x << k) | (x >> (64n - k))) & M;
  return () => {
    const result = (rotl((s[0] + s[3]) & M, 23n) + s[0]) & M;
    const t = (s[1] << 17n) & M;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45n);
    return Number(result >> 11n) / 2 ** 53;
  };
})();
global.timeout = null;
try {
  new Scene(nav.getStartupScene(), stats, nav, false).execute();
  while (global.timeout) {
    const next = global.timeout;
    global.timeout = null;
    next();
  }
  emit({ end: ended ? 'ending' : 'error', narration: passage(), error: ended ? null : 'play stopped without an ending' });
} catch (e) {
  if (e instanceof Stop) emit({ end: 'cut', narration: '' });
  else emit({ end: 'error', narration: passage(), error: String(e.message || e) });
}
