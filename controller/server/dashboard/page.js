/*
 * The live dashboard's script (inlined by controller/server/dashboard.ts after chart-options.js,
 * which defines lineChartOption, bandSeries and PALETTE; POLL_MS is set there too). Polls
 * /v1/status and /v1/history?since=..., keeps an hour of samples and draws six charts.
 */
/* global echarts, lineChartOption, bandSeries, PALETTE, POLL_MS */
(() => {
  const KEY = 'spillway-api-key';
  const HOUR_MS = 3_600_000;
  const MAX_DECISIONS = 50;
  const state = { runId: undefined, samples: [], decisions: [], lastAtMs: undefined, tickIntervalMs: 5_000, sloMs: null, charts: {} };
  let timer;

  const $ = (sel) => document.querySelector(sel);
  const setField = (name, text) => {
    for (const el of document.querySelectorAll(`[data-field="${name}"]`)) el.textContent = text;
  };
  // The same formats the tests read back (test/e2e/dashboard.test.ts).
  const fmt = {
    rps: (x) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2)),
    usd: (x) => (Number.isFinite(x) ? x.toFixed(6) : '–'),
    pct: (x) => (Number.isFinite(x) ? (x * 100).toFixed(1) : '–'),
    s: (ms) => `${Math.round(ms / 1000)} s`,
    time: (ms) => new Date(ms).toLocaleTimeString('en-GB', { hour12: false }),
  };

  function headers() {
    const k = sessionStorage.getItem(KEY);
    return k ? { 'x-api-key': k } : {};
  }

  async function getJson(path) {
    const res = await fetch(path, { headers: headers(), cache: 'no-store' });
    if (res.status === 401) {
      const err = new Error('the API key is missing or wrong');
      err.status = 401;
      throw err;
    }
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  }

  function setConn(text, cls) {
    const el = $('#conn');
    el.textContent = text;
    el.className = `conn ${cls}`;
  }

  function askForKey(refused) {
    const form = $('#key-form');
    form.hidden = false;
    $('#key-error').textContent = refused ? 'That key was refused.' : '';
    setConn('waiting for the API key', 'error');
    $('#api-key').focus();
  }

  $('#key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('#api-key').value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    $('#api-key').value = '';
    $('#key-form').hidden = true;
    poll();
  });

  function merge(h) {
    if (h.runId !== state.runId) {
      // A restarted controller (or the first answer): start over with what it has.
      state.runId = h.runId;
      state.samples = [];
      state.decisions = [];
      state.lastAtMs = undefined;
    }
    state.tickIntervalMs = h.tickIntervalMs;
    state.sloMs = h.sloMs;
    for (const s of h.samples) if (state.lastAtMs === undefined || s.atMs > state.lastAtMs) state.samples.push(s);
    for (const d of h.decisions) state.decisions.push(d);
    const last = state.samples[state.samples.length - 1];
    if (last) {
      state.lastAtMs = last.atMs;
      const cutoff = last.atMs - HOUR_MS;
      while (state.samples.length > 0 && state.samples[0].atMs < cutoff) state.samples.shift();
    }
    if (state.decisions.length > MAX_DECISIONS) state.decisions.splice(0, state.decisions.length - MAX_DECISIONS);
  }

  function renderStatus(st) {
    const count = (s) => st.fleet.filter((v) => v.state === s).length;
    setField('arrivalRps', fmt.rps(st.traffic.arrivalRps));
    setField('forecastRps', fmt.rps(st.forecastRps));
    setField('vmsReady', String(count('ready')));
    setField('vmsBooting', String(count('booting')));
    setField('vmsDraining', String(count('draining')));
    setField('lambdaInFlight', String(st.lambda.inFlight));
    setField('lambdaConcurrency', String(st.lambda.concurrencyLimit));
    setField('lambdaShare', fmt.pct(st.traffic.recentLambdaShare));
    setField('recentWindowS', String(st.traffic.recentWindowS));
    setField('answeredVm', String(st.traffic.totals.vm));
    setField('answeredLambda', String(st.traffic.totals.lambda));
    setField('rejected', String(st.traffic.totals.rejected));
    setField('failed', String(st.traffic.totals.failed));
    setField('ec2Usd', fmt.usd(st.cost.ec2Usd));
    setField('lambdaUsd', fmt.usd(st.cost.lambdaUsd));
    setField('totalUsd', fmt.usd(st.cost.totalUsd));
    setField('policy', st.policy);
    setField('statusAt', fmt.time(st.nowMs));
    const be = st.plan?.facts?.breakEven?.[0];
    setField(
      'breakEven',
      be
        ? be.utilisation === null || be.utilisation >= 1
          ? `${be.instanceType} × ${be.variant}: Lambda is cheaper at any load`
          : `${be.instanceType} × ${be.variant}: a VM beats Lambda above ${(be.utilisation * 100).toFixed(0)} % utilisation (${(be.utilisation * be.capacityRps).toFixed(1)} of ${be.capacityRps.toFixed(1)} rps); a burst must last ${be.burstMs === null ? '∞' : fmt.s(be.burstMs)} for a new one to pay off; a VM decision holds ${fmt.s(st.plan.facts.holdWindowMs)}`
        : '–',
    );
    document.body.dataset.statusAt = String(st.nowMs);
  }

  function renderDecisions() {
    const ol = $('#decisions');
    ol.replaceChildren(
      ...state.decisions
        .slice()
        .reverse()
        .map((d) => {
          const li = document.createElement('li');
          const t = document.createElement('time');
          t.textContent = fmt.time(d.atMs);
          li.append(t, d.summary.join('; '));
          li.title = d.notes.join('\n');
          return li;
        }),
    );
  }

  // ---- charts -----------------------------------------------------------------------------

  const pts = (f) => state.samples.map((s) => [s.atMs, f(s)]);
  const perS = (n) => n / (state.tickIntervalMs / 1000);

  function loadChart() {
    return {
      title: 'Load vs capacity',
      xName: '',
      yName: 'rps',
      y2Name: 'Lambda in flight',
      series: [
        { name: 'VM ready', data: pts((s) => s.vmReadyRps), stack: 'cap', area: 0.35, color: PALETTE.vm, step: true },
        { name: 'VM booting', data: pts((s) => s.vmBootingRps), stack: 'cap', area: 0.35, color: PALETTE.vmBooting, step: true },
        ...bandSeries('headroom', pts((s) => s.forecastBaseRps), pts((s) => s.forecastRps), PALETTE.forecast),
        { name: 'forecast', data: pts((s) => s.forecastRps), dashed: true, color: PALETTE.forecast },
        { name: 'arrivals', data: pts((s) => s.arrivalRps), color: PALETTE.load, width: 2 },
        { name: 'Lambda absorbs', data: pts((s) => s.lambdaAbsorbRps), dotted: true, color: PALETTE.lambda },
        { name: 'Lambda in flight', data: pts((s) => s.lambdaInFlight), color: PALETTE.lambda, yAxis: 1, step: true, width: 1, area: 0.08 },
      ],
    };
  }

  function fleetChart() {
    const last = state.samples[state.samples.length - 1];
    const types = last ? last.fleet.map((t) => t.instanceType) : [];
    const colours = { ready: PALETTE.vm, booting: PALETTE.vmBooting, draining: '#95a5a6' };
    const series = [];
    for (const t of types) {
      for (const st of ['ready', 'booting', 'draining']) {
        series.push({
          name: `${t} ${st}`,
          data: pts((s) => s.fleet.find((f) => f.instanceType === t)?.[st] ?? 0),
          stack: 'vms',
          area: 0.5,
          step: true,
          color: types.length === 1 ? colours[st] : undefined,
        });
      }
      series.push({ name: `${t} boot delay`, data: pts((s) => (s.fleet.find((f) => f.instanceType === t)?.bootDelayMs ?? 0) / 1000), dotted: true, yAxis: 1 });
    }
    const delays = last ? last.fleet.map((t) => `${t.instanceType} ${(t.bootDelayMs / 1000).toFixed(0)} s`).join(', ') : '';
    return { title: 'The fleet: VMs by type and state', subtitle: delays ? `learned boot delay: ${delays}` : undefined, xName: '', yName: 'VMs', y2Name: 'boot delay (s)', series };
  }

  function answersChart() {
    return {
      title: 'Where answers came from',
      xName: '',
      yName: 'answers / s',
      y2Name: 'Lambda share (%)',
      y2Max: 100,
      series: [
        { name: 'VM', data: pts((s) => perS(s.answers.vm)), stack: 'answers', area: 0.45, color: PALETTE.vm },
        { name: 'Lambda', data: pts((s) => perS(s.answers.lambda)), stack: 'answers', area: 0.45, color: PALETTE.lambda },
        { name: 'cold starts', data: pts((s) => perS(s.answers.coldStarts)), color: PALETTE.cold },
        { name: '503', data: pts((s) => perS(s.answers.rejected503)), color: PALETTE.bad },
        { name: '504', data: pts((s) => perS(s.answers.timeouts504)), color: PALETTE.timeout, dashed: true },
        {
          name: 'Lambda share',
          data: pts((s) => (s.answers.vm + s.answers.lambda > 0 ? (100 * s.answers.lambda) / (s.answers.vm + s.answers.lambda) : null)),
          dotted: true,
          color: PALETTE.lambda,
          yAxis: 1,
        },
      ],
    };
  }

  function latencyChart() {
    return {
      title: 'Latency and SLO attainment',
      xName: '',
      yName: 'ms',
      yLog: true,
      y2Name: 'within SLO (%)',
      y2Max: 100,
      series: [
        { name: 'p50', data: pts((s) => s.p50Ms), color: PALETTE.vm },
        { name: 'p99', data: pts((s) => s.p99Ms), color: PALETTE.forecast },
        { name: 'SLO attainment', data: pts((s) => (s.sloAttainment === null ? null : 100 * s.sloAttainment)), color: PALETTE.ok, yAxis: 1, dashed: true },
      ],
      referenceLines: state.sloMs ? [{ name: `SLO ${state.sloMs} ms`, y: state.sloMs }] : [],
    };
  }

  function costChart() {
    const last = state.samples[state.samples.length - 1];
    const be = last?.breakEven;
    const sub = be
      ? be.utilisation === null || be.utilisation >= 1
        ? `break-even: Lambda cheaper than ${be.instanceType} at any load`
        : `break-even ${be.instanceType}: utilisation ${(be.utilisation * 100).toFixed(0)} %, burst ${be.burstMs === null ? '∞' : fmt.s(be.burstMs)}`
      : undefined;
    return {
      title: 'Dollars: per hour now and so far',
      subtitle: sub,
      xName: '',
      yName: '$ / h',
      y2Name: '$ so far',
      series: [
        { name: 'EC2 $/h', data: pts((s) => s.cost.ec2UsdPerHour), stack: 'rate', area: 0.4, color: PALETTE.vm, step: true },
        { name: 'Lambda $/h', data: pts((s) => s.cost.lambdaUsdPerHour), stack: 'rate', area: 0.4, color: PALETTE.lambda },
        { name: 'EC2 $ so far', data: pts((s) => s.cost.ec2Usd), dashed: true, color: PALETTE.vm, yAxis: 1 },
        { name: 'Lambda $ so far', data: pts((s) => s.cost.lambdaUsd), dashed: true, color: PALETTE.lambda, yAxis: 1 },
      ],
    };
  }

  function mixChart() {
    const keys = new Map();
    for (const s of state.samples) for (const [task, m] of Object.entries(s.modelMix)) for (const v of Object.keys(m)) keys.set(`${task}|${v}`, [task, v]);
    const tasks = new Set([...keys.values()].map(([t]) => t));
    const series = [...keys.values()].map(([task, v]) => ({
      name: tasks.size > 1 ? `${task}: ${v}` : v,
      data: pts((s) => (s.modelMix[task] ? 100 * (s.modelMix[task][v] ?? 0) : null)),
      stack: task,
      area: 0.4,
    }));
    series.push({ name: 'served accuracy', data: pts((s) => s.servedAccuracy), color: PALETTE.load, yAxis: 1, width: 2 });
    return { title: 'Model mix per task and served accuracy', xName: '', yName: 'share of answers (%)', y2Name: 'top-1 (%)', series };
  }

  const CHARTS = {
    'chart-load': loadChart,
    'chart-fleet': fleetChart,
    'chart-answers': answersChart,
    'chart-latency': latencyChart,
    'chart-cost': costChart,
    'chart-mix': mixChart,
  };

  function renderCharts() {
    for (const [id, build] of Object.entries(CHARTS)) {
      let c = state.charts[id];
      if (!c) {
        c = echarts.init(document.getElementById(id), null, { renderer: 'canvas' });
        state.charts[id] = c;
      }
      c.setOption(lineChartOption(build(), { xType: 'time' }), { notMerge: true });
    }
    document.body.dataset.samples = String(state.samples.length);
  }
  window.addEventListener('resize', () => {
    for (const c of Object.values(state.charts)) c.resize();
  });

  async function poll() {
    clearTimeout(timer);
    try {
      const since = state.lastAtMs === undefined ? '' : `?since=${state.lastAtMs}`;
      const [status, history] = await Promise.all([getJson('/v1/status'), getJson(`/v1/history${since}`)]);
      $('#key-form').hidden = true;
      merge(history);
      renderStatus(status);
      renderCharts();
      renderDecisions();
      setConn(`live · ${state.samples.length} samples`, 'live');
    } catch (err) {
      if (err.status === 401) {
        // Wait for the key: no more polls until it is given.
        askForKey(sessionStorage.getItem(KEY) !== null);
        if (sessionStorage.getItem(KEY) !== null) sessionStorage.removeItem(KEY);
        return;
      }
      setConn(`error: ${err.message}`, 'error');
    }
    timer = setTimeout(poll, POLL_MS);
  }

  poll();
})();
