// #/drill/<id>: a fire drill as the trainee walks it: the page as it fired
// (on the drill clock), the categories cheapest first, each opened with
// "Check" (DrillService/OpenCategory), the answer, then the score.

import { api } from './api.js';
import { h, ms, setAsOf, showError, utc } from './dom.js';

async function drillApi(method, body) { return api(`DrillService/${method}`, body); }

export async function loadDrill(id) {
  try {
    const drill = await drillApi('GetDrill', { drill_id: id });
    renderDrill(drill);
  } catch (e) {
    showError(e);
  }
}

function renderDrill(drill) {
  const opened = new Map((drill.steps || []).filter((s) => s.action === 'open').map((s) => [s.category, s]));
  const running = drill.status === 'running';
  const a = (drill.page.alerts || [])[0] || {};
  const pick = h('select', { id: 'drill-answer', 'aria-label': 'Root cause' },
    [...drill.walk_order, 'rare_class'].map((c) => h('option', { value: c }, c)));
  const nodes = [
    h('h1', {}, `Fire drill ${drill.id} — trainee ${drill.trainee}`),
    h('section', { class: 'banner rare', role: 'alert', 'data-drill': drill.status },
      h('div', { class: 'what' }, `PAGE: ${a.name || ''} ${a.service} / ${a.metric}`),
      h('div', { class: 'mitigation' }, `Fired ${utc(ms(drill.page_time))} (drill clock). Localize within 15 minutes: open categories cheapest first, then name the root cause.`)),
    h('section', { class: 'panel' }, h('h2', {}, 'Categories (cheapest first)'),
      h('ol', { class: 'walk' }, drill.walk_order.map((c) => {
        const s = opened.get(c);
        return h('li', { 'data-category': c, 'data-verdict': s ? s.verdict : null },
          h('div', { class: 'row1' }, h('span', { class: 'name' }, c),
            s ? h('span', { class: `badge ${s.verdict}` }, s.verdict) : null,
            s ? h('span', { class: 'cost' }, `opened at T+${Number(s.minute).toFixed(1)} min`) : null,
            running && !s ? h('button', { type: 'button', 'data-open': c, onclick: async () => {
              try { await drillApi('OpenCategory', { drill_id: drill.id, category: c }); loadDrill(drill.id); } catch (e) { showError(e); }
            } }, 'Check') : null),
          s ? h('div', { class: 'evidence' }, s.evidence) : null);
      }))),
  ];
  if (running) {
    nodes.push(h('section', { class: 'panel' }, h('h2', {}, 'Root cause'),
      h('form', { class: 'adhoc', onsubmit: async (ev) => {
        ev.preventDefault();
        try { renderDrill(await drillApi('Answer', { drill_id: drill.id, category: pick.value })); } catch (e) { showError(e); }
      } }, h('label', {}, 'the root cause is', pick), h('button', { type: 'submit' }, 'Answer'))));
  } else {
    const sc = drill.score;
    nodes.push(h('section', { class: 'panel', 'data-score': sc.correct ? 'correct' : 'missed' },
      h('h2', {}, 'Score'),
      h('div', { class: sc.correct ? '' : 'bad' }, `${sc.correct ? 'Correct' : 'Missed'}: answered ${sc.answered}, the root cause was ${sc.expected}.`),
      h('div', {}, `${Number(sc.minutes_to_answer).toFixed(1)} min to the answer (target ${sc.target_minutes} min)${sc.within_target ? ' — within target' : ''}; ` +
        `${sc.categories_opened} categories opened, ${sc.out_of_order} out of cheapest-first order, ${sc.check_minutes} min of checks.`)));
  }
  document.getElementById('main').replaceChildren(...nodes);
  setAsOf();
  document.body.dataset.rendered = 'drill';
}
