// The Switchyard page: upload an image to POST /predict, and poll GET /live once a second for the live panel.
// Plain browser JavaScript, no build step; uPlot (served from the npm package) draws the charts.

const $ = (id) => document.getElementById(id)
const fileInput = $('file-input')
const modelSelect = $('model-select')
const dropZone = $('drop-zone')
const statusLine = $('status')
const emptyState = $('empty-state')
const result = $('result')

function ms(value) {
  return value == null ? '–' : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`
}

function setStatus(text, isError = false) {
  statusLine.textContent = text
  statusLine.classList.toggle('error', isError)
}

// ---- upload -------------------------------------------------------------------------------------------------

async function loadModels() {
  try {
    const response = await fetch('/models')
    const { models } = await response.json()
    for (const model of models) {
      const option = document.createElement('option')
      option.value = model.name
      const canary = model.canary ? `, canary ${model.canary.version} ${Math.round(model.canary.weight * 100)} %` : ''
      option.textContent = `${model.name} (${model.ready} ready${canary})`
      modelSelect.append(option)
      // Each version on its own too, when there is more than one: NAME@VERSION runs exactly that version.
      if ((model.versions ?? []).length < 2) continue
      for (const version of model.versions) {
        const exact = document.createElement('option')
        exact.value = `${model.name}@${version.version}`
        exact.textContent = `  ${model.name}@${version.version} (${version.stage})`
        modelSelect.append(exact)
      }
    }
  } catch {
    // The default model still works; the list is a convenience.
  }
}

// Before the first answer (and after a failed one) the result area is hidden and the placeholder says what to do;
// while an image is being classified, neither shows.
function showResult(state) {
  result.hidden = state !== 'result'
  emptyState.hidden = state !== 'empty'
}

let previewUrl
async function classify(file) {
  if (!file) return
  if (file.type && !file.type.startsWith('image/')) {
    setStatus(`${file.name} is not an image (${file.type}).`, true)
    return
  }
  if (result.hidden) showResult('pending')
  if (previewUrl) URL.revokeObjectURL(previewUrl)
  previewUrl = URL.createObjectURL(file)
  $('preview').src = previewUrl
  $('preview').alt = `Your upload: ${file.name || 'pasted from the clipboard'}`
  setStatus(`Classifying ${file.name || 'the pasted image'}…`)
  const form = new FormData()
  form.append('file', file, file.name || 'pasted-image')
  const model = modelSelect.value
  const url = model ? `/predict?model=${encodeURIComponent(model)}` : '/predict'
  let response
  let body
  try {
    response = await fetch(url, { method: 'POST', body: form })
    body = await response.json()
  } catch (error) {
    showResult('empty')
    setStatus(`The gateway did not answer: ${error.message}`, true)
    return
  }
  if (!response.ok) {
    showResult('empty')
    setStatus(`${response.status} ${body.code ?? ''}: ${body.error ?? 'request failed'}`, true)
    return
  }
  showPrediction(body)
  setStatus(
    `${body.prediction} — ${body.model.name} ${body.model.version}${body.degraded ? ` (degraded: ${body.degraded_from} would not have answered in time)` : ''}, answered by ${body.replica_id ?? body.replica} in ${ms(body.timing_ms.total)}`,
  )
}

function showPrediction(body) {
  showResult('result')
  const warning = $('warning')
  warning.hidden = !body.warning
  warning.textContent = body.warning ?? ''
  $('model-name').textContent =
    `· ${body.model.name} ${body.model.version}${body.model.pretrained ? '' : ' (untrained)'}`
  const list = $('top5')
  list.replaceChildren(
    ...body.top5.map((score) => {
      const item = document.createElement('li')
      const label = document.createElement('span')
      label.textContent = score.label
      const bar = document.createElement('span')
      bar.className = 'bar'
      bar.setAttribute('aria-hidden', 'true')
      const fill = document.createElement('span')
      fill.style.width = `${(score.confidence * 100).toFixed(1)}%`
      bar.append(fill)
      const pct = document.createElement('span')
      pct.className = 'pct'
      pct.textContent = `${(score.confidence * 100).toFixed(2)} %`
      item.append(label, bar, pct)
      return item
    }),
  )
  const t = body.timing_ms
  const pairs = [
    ['gateway queue', ms(t.gateway_queue)],
    ['preprocess', ms(t.preprocess)],
    ['replica queue', ms(t.queue)],
    ['inference', ms(t.inference)],
    ['total', ms(t.total)],
    ['replica', body.replica_id ? `${body.replica_id} (${body.replica})` : body.replica],
    ['batch size', String(body.batch_size ?? '–')],
    ['queue size', String(body.queue_size)],
  ]
  $('timings').replaceChildren(
    ...pairs.flatMap(([name, value]) => {
      const dt = document.createElement('dt')
      dt.textContent = name
      const dd = document.createElement('dd')
      dd.textContent = value
      return [dt, dd]
    }),
  )
}

fileInput.addEventListener('change', () => classify(fileInput.files[0]))
for (const type of ['dragenter', 'dragover']) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault()
    dropZone.classList.add('dragging')
  })
}
for (const type of ['dragleave', 'drop']) {
  dropZone.addEventListener(type, () => dropZone.classList.remove('dragging'))
}
dropZone.addEventListener('drop', (event) => {
  event.preventDefault()
  classify(event.dataTransfer.files[0])
})
document.addEventListener('paste', (event) => {
  const file = [...(event.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'))
  if (file) classify(file)
})

// ---- live panel ---------------------------------------------------------------------------------------------

const charts = {}

function makeChart(id, series, extra = {}) {
  const element = $(id)
  const width = () => Math.max(240, element.clientWidth)
  const chart = new uPlot(
    {
      width: width(),
      height: 170,
      legend: { show: true },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      series: [{}, ...series],
      axes: [{}, { size: 50 }],
      ...extra,
    },
    [[], ...series.map(() => [])],
    element,
  )
  new ResizeObserver(() => chart.setSize({ width: width(), height: 170 })).observe(element)
  return chart
}

function createCharts(sloMs) {
  charts.queue = makeChart('queue-chart', [{ label: 'queue', stroke: '#0969da', fill: 'rgba(9,105,218,0.1)' }])
  charts.latency = makeChart('latency-chart', [
    { label: 'p50', stroke: '#1a7f37' },
    { label: 'p99', stroke: '#8250df' },
    { label: `SLO ${sloMs} ms`, stroke: '#cf222e', dash: [6, 4] },
  ])
  charts.rps = makeChart('rps-chart', [
    { label: 'answered', stroke: '#0969da' },
    { label: '200 OK', stroke: '#1a7f37' },
    { label: 'degraded (fallback)', stroke: '#9a6700' },
  ])
  charts.replicas = makeChart('replicas-chart', [
    { label: 'ready', stroke: '#1a7f37' },
    { label: 'desired', stroke: '#9a6700', dash: [4, 4] },
  ])
}

function renderLive(live) {
  $('stat-queue').textContent = `${live.queue.size} / ${live.queue.max_size}`
  $('stat-rps').textContent = String(live.rps)
  // Brownout: answers a fallback gave in the last minute (only shown once there are some).
  $('stat-degraded').textContent = String(live.minute.degraded ?? 0)
  $('stat-degraded-row').hidden = !live.minute.degraded
  $('stat-p50').textContent = ms(live.minute.p50)
  $('stat-p99').textContent = ms(live.minute.p99)
  $('stat-p99').classList.toggle('error', live.minute.p99 != null && live.minute.p99 > live.slo_ms)
  $('stat-replicas').textContent = `${live.ready} / ${live.desired}`
  if (!charts.queue) createCharts(live.slo_ms)
  const s = live.seconds
  const x = s.map((second) => second.t / 1000)
  charts.queue.setData([x, s.map((second) => second.queue)])
  charts.latency.setData([x, s.map((second) => second.p50), s.map((second) => second.p99), s.map(() => live.slo_ms)])
  charts.rps.setData([
    x,
    s.map((second) => second.answered),
    s.map((second) => second.ok),
    s.map((second) => second.degraded ?? 0),
  ])
  charts.replicas.setData([x, s.map((second) => second.ready), s.map((second) => second.desired)])

  const rows = live.replicas.map((replica) => {
    const row = document.createElement('tr')
    const state = replica.draining
      ? 'draining'
      : replica.ejected
        ? 'ejected'
        : replica.refusing
          ? 'full (other gateways)'
          : replica.routable
            ? 'ready'
            : replica.ready
              ? 'not routable'
              : 'not ready'
    // With several gateways the replica's own report says what this gateway's count cannot.
    const reported = replica.reported_inflight === null ? '' : ` (holds ≥ ${replica.reported_inflight})`
    const cells = [
      replica.url,
      state,
      `${replica.outstanding} / ${replica.slots}${reported}`,
      ms(replica.ewma_latency_ms),
      replica.models.join(', '),
    ]
    for (const [i, text] of cells.entries()) {
      const cell = document.createElement(i === 0 ? 'th' : 'td')
      if (i === 0) cell.scope = 'row'
      cell.textContent = text
      if (i === 1) cell.className = state === 'ready' || replica.refusing ? 'state-ready' : 'state-down'
      row.append(cell)
    }
    return row
  })
  document.querySelector('#replica-table tbody').replaceChildren(...rows)
  renderVersions(live.versions ?? [])
}

// Production and candidate side by side: the numbers the automatic rollback compares.
function renderVersions(versions) {
  $('version-table').hidden = versions.length === 0
  const rows = versions.map((v) => {
    const row = document.createElement('tr')
    const cells = [
      v.model,
      v.version,
      v.stage,
      `${Math.round(v.weight * 1000) / 10} %`,
      String(v.requests),
      v.requests > 0 ? `${v.errors} (${((v.errors / v.requests) * 100).toFixed(1)} %)` : '0',
      ms(v.p50_ms),
      ms(v.p95_ms),
    ]
    for (const [i, text] of cells.entries()) {
      const cell = document.createElement(i === 0 ? 'th' : 'td')
      if (i === 0) cell.scope = 'row'
      cell.textContent = text
      row.append(cell)
    }
    return row
  })
  document.querySelector('#version-table tbody').replaceChildren(...rows)
}

async function pollLive() {
  try {
    const response = await fetch('/live', { cache: 'no-store' })
    renderLive(await response.json())
    $('live-state').textContent = `· updated ${new Date().toLocaleTimeString()}`
  } catch {
    $('live-state').textContent = '· gateway unreachable, retrying'
  }
  setTimeout(pollLive, 1000)
}

loadModels()
pollLive()
