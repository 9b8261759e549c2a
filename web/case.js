// One case: progress while it runs, then the CT with its label overlay, the tumour, the nerves as tubes
// coloured by distance to the tumour with their 95 % corridors, and the per-nerve risk table.
//
// Coordinates: NIfTI, TCK and MZ3 files are RAS mm, which is what NiiVue works in; report.json is LPS mm
// (design §2), so every point taken from the report goes through lpsToRas before it reaches NiiVue, and
// every NiiVue position shown to the user through rasToLps. The flip is its own inverse.
import { Niivue, SLICE_TYPE, DRAG_MODE, SHOW_RENDER, NVMesh } from '/vendor/niivue/index.js'
import { apiJson, fileUrl, follow } from './api.js'
import { h, formatTime } from './dom.js'
import { appendTube } from './tube.js'
import { nerveVolumeNifti, NERVE_CAL } from './nerves2d.js'

export const lpsToRas = p => [-p[0], -p[1], p[2]]
export const rasToLps = lpsToRas

// CT windows (width/level in HU).
const WINDOWS = {
  soft: { label: 'Soft tissue', width: 400, level: 40 },
  bone: { label: 'Bone', width: 1800, level: 400 }
}
// The 3D view renders the CT from 180 HU up: bone for orientation, soft tissue transparent so the
// nerves, their corridors and the tumour stay visible.
const RENDER_WINDOW = { width: 1020, level: 690 }
// In the "All" layout the small 3D tile keeps the reading window and cuts the front of the neck away.
const CUTAWAY = [0.1, 180, 0]
const NO_CLIP = [2, 0, 0]

// Nerve colour by distance to the tumour: red at contact, orange 5 mm, yellow 10 mm, green from 20 mm.
const DISTANCE_MAX_MM = 20
const DISTANCE_COLORMAP = {
  R: [220, 255, 240, 40],
  G: [20, 140, 220, 180],
  B: [20, 0, 0, 70],
  A: [255, 255, 255, 255],
  I: [0, 64, 128, 255]
}
const NERVE_COLOR_NO_TUMOUR = [255, 230, 80, 255]
const NERVE_RADIUS_MM = 1.5
// The same yellow as a one-colour map, for the 2D nerve overlay of a case without a tumour.
const NO_TUMOUR_COLORMAP = { R: [255, 255], G: [230, 230], B: [80, 80], A: [255, 255], I: [0, 255] }
const CORRIDOR_RGBA = [120, 200, 255, 255]
const CORRIDOR_OPACITY = 0.3

const RISK_ORDER = { contact: 0, high: 1, moderate: 2, low: 3, none: 4 }
const NERVE_NAMES = {
  vagus: 'Vagus (X)',
  recurrent_laryngeal: 'Recurrent laryngeal',
  superior_laryngeal_external: 'Sup. laryngeal, ext. branch',
  accessory: 'Accessory (XI)',
  hypoglossal: 'Hypoglossal (XII)',
  phrenic: 'Phrenic',
  sympathetic_trunk: 'Sympathetic trunk'
}

export function nerveName (n) {
  const base = NERVE_NAMES[n.nerve] || (n.nerve || n.id).replaceAll('_', ' ')
  return n.side ? `${base} ${n.side === 'left' ? 'L' : n.side === 'right' ? 'R' : n.side}` : base
}

const fmtMM = v => (v === null || v === undefined ? '–' : `${v.toFixed(1)}`)

// ---------------------------------------------------------------------------------------------
// progress while the case is queued or running

function progressView (main, state) {
  const bar = h('progress', { max: 100, value: Math.round(100 * (state.progress || 0)) })
  const text = h('p', { id: 'case-state' })
  const update = s => {
    bar.value = Math.round(100 * (s.progress || 0))
    text.textContent = s.status === 'running' ? `running: ${s.stage || ''} ${Math.round(100 * s.progress)}%`
      : s.status === 'queued' ? 'queued: waiting for a free worker'
        : s.status === 'failed' ? `failed: ${s.error || 'unknown reason'}` : s.status
    text.className = s.status === 'failed' ? 'error' : ''
  }
  update(state)
  main.replaceChildren(h('section', { class: 'progress-page' }, h('h2', {}, 'Case in progress'), bar, text,
    h('p', {}, h('a', { href: '/' }, '← all cases'))))
  return update
}

async function waitUntilFinished (main, id, state) {
  if (state.status === 'done' || state.status === 'failed') return state
  const update = progressView(main, state)
  return new Promise(resolve => follow(id, s => {
    update(s)
    if (s.status === 'done' || s.status === 'failed' || s.status === 'deleted') resolve(s)
  }))
}

// ---------------------------------------------------------------------------------------------
// the viewer

function labelColormap (labels, hidden) {
  const cm = { R: [0], G: [0], B: [0], A: [0], I: [0], labels: [''] }
  for (const l of labels) {
    cm.R.push(l.rgb[0]); cm.G.push(l.rgb[1]); cm.B.push(l.rgb[2])
    cm.A.push(hidden.has(l.id) ? 0 : 255)
    cm.I.push(l.id)
    cm.labels.push(l.name)
  }
  return cm
}

// One streamline per estimated piece of each nerve, in report order (as nerves.tck is written).
function nervePieces (report) {
  const pieces = []
  for (const n of report.nerves) {
    if (n.status !== 'estimated') continue
    const segments = n.segments && n.segments.length ? n.segments : [[0, n.path_mm.length - 1]]
    for (const [first, last] of segments) {
      pieces.push({
        nerve: n,
        points: n.path_mm.slice(first, last + 1).map(lpsToRas),
        radii: n.corridor_r95_mm.slice(first, last + 1),
        distances: Array.isArray(n.distance_profile_mm) ? n.distance_profile_mm.slice(first, last + 1) : null
      })
    }
  }
  return pieces
}

function corridorMesh (nv, pieces) {
  const geometry = { positions: [], triangles: [] }
  for (const p of pieces) appendTube(geometry, p.points, p.radii)
  if (!geometry.triangles.length) return null
  const mesh = new NVMesh(new Float32Array(geometry.positions), new Uint32Array(geometry.triangles),
    'corridors', new Uint8Array(CORRIDOR_RGBA), CORRIDOR_OPACITY, true, nv.gl)
  return mesh
}

// The canvas pixel (CSS px) where a RAS point projects in the first 2D tile showing it, or null.
// NiiVue maps canvas → fraction per tile (canvasPos2frac); that map is affine within a tile, so three
// samples give it and its inverse. Used by the browser test and the "jump" feedback.
function canvasPosOfRas (nv, ras) {
  const target = nv.mm2frac(ras)
  const dpr = nv.uiData.dpr || 1
  for (const tile of nv.screenSlices) {
    if (tile.axCorSag > SLICE_TYPE.SAGITTAL) continue
    const [l, t, w, hgt] = tile.leftTopWidthHeight
    const p0 = [l + w * 0.25, t + hgt * 0.25]
    const px = [l + w * 0.75, t + hgt * 0.25]
    const py = [l + w * 0.25, t + hgt * 0.75]
    const f0 = nv.canvasPos2frac(p0); const fx = nv.canvasPos2frac(px); const fy = nv.canvasPos2frac(py)
    if (f0[0] < 0 || fx[0] < 0 || fy[0] < 0) continue
    // the two in-plane fraction axes: the ones that change
    const dx = [0, 1, 2].map(i => (fx[i] - f0[i]) / (px[0] - p0[0]))
    const dy = [0, 1, 2].map(i => (fy[i] - f0[i]) / (py[1] - p0[1]))
    const ix = dx.map(Math.abs).indexOf(Math.max(...dx.map(Math.abs)))
    const iy = dy.map(Math.abs).indexOf(Math.max(...dy.map(Math.abs)))
    const x = p0[0] + (target[ix] - f0[ix]) / dx[ix]
    const y = p0[1] + (target[iy] - f0[iy]) / dy[iy]
    if (x >= l && x <= l + w && y >= t && y <= t + hgt) return { x: x / dpr, y: y / dpr, axCorSag: tile.axCorSag }
  }
  return null
}

async function createViewer (canvas, id, files, report, labels) {
  const nv = new Niivue({
    backColor: [0.05, 0.06, 0.08, 1],
    crosshairColor: [0.3, 0.75, 1, 0.9],
    crosshairWidth: 0.25, // in voxels: thin, so the point under it stays visible
    show3Dcrosshair: true,
    isOrientationTextVisible: true,
    isRadiologicalConvention: true, // patient's right on the screen's left, as radiologists read CT
    isOrientCube: true,
    isClipAllVolumes: true,
    multiplanarShowRender: SHOW_RENDER.ALWAYS,
    meshThicknessOn2D: 3,
    measureLineColor: [1, 1, 0.2, 1],
    measureTextColor: [1, 1, 0.2, 1],
    dragAndDropEnabled: false,
    showLegend: false, // the nerve names: shown in the 3D view only (see setView)
    legendBackgroundColor: [0.1, 0.1, 0.12, 0.7],
    isColorbar: false,
    loadingText: 'loading the CT...', // NiiVue's font has no ellipsis
    logLevel: 'warn'
  })
  await nv.attachToCanvas(canvas)
  nv.addColormap('nervemap_distance', DISTANCE_COLORMAP)
  // For the voxel overlay, values below cal_min (no nerve) map to index 0: make that transparent.
  const transparentFloor = cm => ({
    R: [0, ...cm.R], G: [0, ...cm.G], B: [0, ...cm.B], A: [0, ...cm.A], I: [0, ...cm.I.map(i => Math.max(i, 1))]
  })
  nv.addColormap('nervemap_distance_overlay', transparentFloor(DISTANCE_COLORMAP))
  nv.addColormap('nervemap_nerve_overlay', transparentFloor(NO_TUMOUR_COLORMAP))
  // Meshes go in before any volume: NiiVue recomputes the volume's gradient texture after every mesh
  // added once a volume is loaded (~1 s each in software WebGL, a minute for a neck's 60 meshes).
  const pieces = nervePieces(report)
  // Surface meshes (structures, tumour) if the case has them: coloured like their labels.
  const byName = new Map(labels.map(l => [l.name, l]))
  const meshFiles = files.filter(f => f.endsWith('.mz3'))
  const meshes = meshFiles.map(f => {
    const stem = f.split('/').pop().replace(/\.mz3$/, '')
    const label = byName.get(stem)
    const isTumour = /^GTV/.test(stem)
    // NiiVue picks the reader from the name's extension
    return { url: fileUrl(id, f), name: f.split('/').pop(), rgba255: label ? [...label.rgb, 255] : [200, 200, 200, 255], opacity: isTumour ? 0.9 : 0.35 }
  })
  const hasTracts = files.includes('nerves.tck')
  const hasDistance = files.includes('nerves_distance.tsf')
  if (hasTracts) {
    meshes.push({
      url: fileUrl(id, 'nerves.tck'),
      name: 'nerves.tck',
      rgba255: NERVE_COLOR_NO_TUMOUR,
      layers: hasDistance ? [{ url: fileUrl(id, 'nerves_distance.tsf') }] : []
    })
  }
  if (meshes.length) await nv.loadMeshes(meshes)
  const tracts = nv.meshes.find(m => m.name === 'nerves.tck')
  if (tracts) {
    if (hasDistance && tracts.dpv && tracts.dpv.length) {
      tracts.dpv[0].cal_min = 0
      tracts.dpv[0].cal_max = DISTANCE_MAX_MM
      nv.setMeshProperty(tracts.id, 'colormap', 'nervemap_distance')
      nv.setMeshProperty(tracts.id, 'fiberColor', 'DPV0')
    } else {
      nv.setMeshProperty(tracts.id, 'fiberColor', 'Fixed')
    }
    nv.setMeshProperty(tracts.id, 'fiberRadius', NERVE_RADIUS_MM)
  }
  const corridors = corridorMesh(nv, pieces)
  if (corridors) nv.addMesh(corridors)

  const soft = WINDOWS.soft
  const volumes = [{ url: fileUrl(id, 'ct.nii.gz'), colormap: 'gray', cal_min: soft.level - soft.width / 2, cal_max: soft.level + soft.width / 2 }]
  if (files.includes('labels.nii.gz')) volumes.push({ url: fileUrl(id, 'labels.nii.gz'), opacity: 0.45 })
  await nv.loadVolumes(volumes)
  if (nv.volumes[1]) {
    nv.volumes[1].setColormapLabel(labelColormap(labels, new Set()))
    nv.updateGLVolume()
  }

  // The nerves in the 2D views (see nerves2d.js), coloured as the tubes.
  const nerveVoxels = nerveVolumeNifti(pieces, NERVE_RADIUS_MM)
  if (nerveVoxels) {
    await nv.addVolumeFromUrl({
      url: 'nerves2d.nii',
      buffer: nerveVoxels,
      name: 'nerves2d.nii',
      colormap: files.includes('nerves_distance.tsf') ? 'nervemap_distance_overlay' : 'nervemap_nerve_overlay',
      ...NERVE_CAL,
      opacity: 1
    })
  }

  // Nerve names in the 3D view: NiiVue's label legend with a leader line to each nerve's point.
  for (const n of report.nerves) {
    if (n.status !== 'estimated' || !n.path_mm.length) continue
    const point = n.closest_point_nerve_mm || n.path_mm[Math.floor(n.path_mm.length / 2)]
    nv.addLabel(nerveName(n), { textColor: [1, 1, 1, 1], textScale: 0.8, lineWidth: 1.5, lineColor: [1, 1, 1, 0.6], bulletScale: 0 }, lpsToRas(point))
  }
  // 3D: an anterior oblique view with the front of the neck cut away (volumes only; the nerve tubes
  // and corridors are meshes and stay whole), so the nerves are seen in place.
  nv.setClipPlaneColor([0, 0, 0, 0])
  nv.setClipPlane(CUTAWAY)
  nv.setRenderAzimuthElevation(160, 10)
  nv.createOnLocationChange()
  nv.drawScene()
  return { nv, tracts, corridors }
}

// ---------------------------------------------------------------------------------------------
// side panel

function riskTable (report, onSelect) {
  const nerves = report.nerves.slice().sort((a, b) =>
    (RISK_ORDER[a.risk] ?? 9) - (RISK_ORDER[b.risk] ?? 9) ||
    (a.min_distance_mm ?? Infinity) - (b.min_distance_mm ?? Infinity))
  const rows = nerves.map(n => {
    const estimated = n.status === 'estimated'
    const r95 = estimated && n.closest_point_nerve_mm && n.distance_profile_mm
      ? n.corridor_r95_mm[n.distance_profile_mm.indexOf(Math.min(...n.distance_profile_mm))] : null
    const p5 = n.p_within_mm && n.p_within_mm['5'] !== undefined && n.p_within_mm['5'] !== null ? `${Math.round(100 * n.p_within_mm['5'])}%` : '–'
    return h('tr', {
      class: estimated ? 'nerve' : 'nerve not-estimated',
      'data-nerve': n.id,
      title: estimated ? 'show its point closest to the tumour' : `not estimated: ${n.reason || ''}`,
      onclick: estimated ? () => onSelect(n) : null
    },
    h('td', {}, nerveName(n)),
    h('td', {}, estimated ? h('span', { class: `risk risk-${n.risk}` }, n.risk) : h('span', { class: 'risk' }, 'n/a')),
    h('td', { class: 'num' }, estimated ? fmtMM(n.min_distance_mm) : '–'),
    h('td', { class: 'num' }, fmtMM(r95)),
    h('td', { class: 'num' }, estimated ? p5 : '–'))
  })
  return h('table', { class: 'risk-table', id: 'risk-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Nerve'), h('th', {}, 'Risk'), h('th', { class: 'num', title: 'minimum distance to the tumour (mm)' }, 'd mm'),
      h('th', { class: 'num', title: '95 % corridor radius at the closest point (mm)' }, 'r95'),
      h('th', { class: 'num', title: 'probability the nerve lies within 5 mm of the tumour' }, 'P≤5'))),
    h('tbody', {}, rows))
}

function distanceLegend () {
  const stops = DISTANCE_COLORMAP.I.map((at, k) =>
    `rgb(${DISTANCE_COLORMAP.R[k]},${DISTANCE_COLORMAP.G[k]},${DISTANCE_COLORMAP.B[k]}) ${(100 * at) / 255}%`)
  return h('div', { class: 'distance-legend' },
    h('div', { class: 'bar', style: `background: linear-gradient(to right, ${stops.join(', ')})` }),
    h('div', { class: 'ticks' }, h('span', {}, '0'), h('span', {}, '5'), h('span', {}, '10'), h('span', {}, `≥${DISTANCE_MAX_MM} mm to tumour`)))
}

function structureLegend (labels, onChange) {
  const hidden = new Set()
  const items = labels.map(l => h('li', {},
    h('label', {},
      h('input', {
        type: 'checkbox',
        checked: true,
        'data-label': l.name,
        onchange: e => {
          if (e.target.checked) hidden.delete(l.id); else hidden.add(l.id)
          onChange(hidden)
        }
      }),
      h('span', { class: 'swatch', style: `background: rgb(${l.rgb.join(',')})` }),
      l.name.replaceAll('_', ' '))))
  return h('ul', { class: 'legend', id: 'structure-legend' }, items)
}

// ---------------------------------------------------------------------------------------------

export async function showCase (main, id) {
  document.getElementById('crumb').textContent = `case ${id}`
  let state = await apiJson(`/api/cases/${id}`)
  state = await waitUntilFinished(main, id, state)
  if (state.status !== 'done') {
    main.replaceChildren(h('section', { class: 'progress-page' },
      h('h2', {}, state.status === 'deleted' ? 'Case deleted' : 'Case failed'),
      h('p', { class: 'error', id: 'case-state' }, state.error || state.status),
      h('p', {}, h('a', { href: '/' }, '← all cases'))))
    return
  }
  const files = await apiJson(`/api/cases/${id}/files`)
  const [report, labels] = await Promise.all([
    apiJson(fileUrl(id, 'report.json')),
    files.includes('labels.json') ? apiJson(fileUrl(id, 'labels.json')) : []
  ])
  document.getElementById('crumb').textContent = `${state.name || id} · ${formatTime(state.created)}`

  let viewer = null // set once NiiVue has loaded; the controls below do nothing before that
  let userHidden = new Set() // structures switched off in the legend
  let currentView = SLICE_TYPE.MULTIPLANAR
  // The 3D view shows the tumour and the nerves; structures only when asked (they hide the nerves).
  function applyLabelVisibility () {
    if (!viewer?.nv.volumes[1]) return
    const hidden = new Set(userHidden)
    if (currentView === SLICE_TYPE.RENDER && !structures3d.checked) {
      for (const l of labels) if (!/^GTV/.test(l.name)) hidden.add(l.id)
    }
    viewer.nv.volumes[1].setColormapLabel(labelColormap(labels, hidden))
    viewer.nv.updateGLVolume()
  }
  const structures3d = h('input', { type: 'checkbox', id: 'structures-3d', onchange: () => applyLabelVisibility() })
  const canvas = h('canvas', { id: 'gl' })
  const location = h('div', { class: 'location', id: 'location' }, '\u00a0')
  const measure = h('div', { class: 'measure', id: 'measure-result' })
  const viewButtons = [
    ['All', SLICE_TYPE.MULTIPLANAR], ['Axial', SLICE_TYPE.AXIAL], ['Coronal', SLICE_TYPE.CORONAL],
    ['Sagittal', SLICE_TYPE.SAGITTAL], ['3D', SLICE_TYPE.RENDER]
  ].map(([label, type]) => h('button', { 'data-view': label.toLowerCase(), onclick: e => setView(type, e.target) }, label))
  const windowButtons = Object.entries(WINDOWS).map(([key, w]) =>
    h('button', { 'data-window': key, title: `W ${w.width} / L ${w.level}`, onclick: e => setWindow(w, e.target) }, w.label))
  const measureButton = h('button', { 'data-tool': 'measure', title: 'drag on a slice to measure a distance', onclick: () => toggleMeasure() }, 'Measure')
  const opacity = h('input', { type: 'range', min: 0, max: 100, value: 45, id: 'label-opacity', oninput: e => viewer?.nv.setOpacity(1, e.target.value / 100) })
  const corridorToggle = h('input', {
    type: 'checkbox',
    checked: true,
    id: 'show-corridors',
    onchange: e => {
      if (viewer?.corridors) { viewer.corridors.visible = e.target.checked; viewer.nv.updateGLVolume() }
    }
  })
  const pdf = files.find(f => f === 'report.pdf')
  const html = files.find(f => f === 'report.html')
  const side = h('aside', { class: 'side' },
    h('div', { class: 'reports' },
      pdf ? h('a', { class: 'button', href: fileUrl(id, pdf), target: '_blank', id: 'report-pdf' }, 'Report (PDF)') : null,
      html ? h('a', { class: 'button', href: fileUrl(id, html), target: '_blank' }, 'Report (HTML)') : null,
      h('a', { class: 'button', href: fileUrl(id, 'report.json'), target: '_blank' }, 'report.json')),
    h('h3', {}, 'Nerves at risk'),
    h('p', { class: 'hint' }, 'Click a nerve to jump to its point closest to the tumour. Courses are estimates.'),
    riskTable(report, n => jumpTo(n)),
    distanceLegend(),
    h('h3', {}, 'Structures'),
    structureLegend(labels, hidden => {
      userHidden = hidden
      applyLabelVisibility()
    }),
    report.warnings && report.warnings.length ? h('details', { class: 'warnings' }, h('summary', {}, `${report.warnings.length} warning(s)`),
      h('ul', {}, report.warnings.map(w => h('li', {}, w)))) : null,
    h('details', { class: 'files' }, h('summary', {}, 'All files'),
      h('ul', {}, files.map(f => h('li', {}, h('a', { href: fileUrl(id, f), download: f.split('/').pop() }, f))))))

  main.replaceChildren(h('section', { class: 'case-page' },
    h('div', { class: 'viewer-col' },
      h('div', { class: 'toolbar' },
        h('span', { class: 'group' }, viewButtons),
        h('span', { class: 'group' }, windowButtons),
        h('span', { class: 'group' }, measureButton),
        h('label', { class: 'group' }, 'Labels ', opacity),
        h('label', { class: 'group' }, corridorToggle, ' 95 % corridors'),
        h('label', { class: 'group', title: 'structures in the 3D view (they can hide the nerves)' }, structures3d, ' structures in 3D')),
      h('div', { class: 'canvas-wrap' }, canvas),
      h('div', { class: 'statusbar' }, location, measure)),
    side))

  viewer = await createViewer(canvas, id, files, report, labels)
  const { nv } = viewer
  const byId = new Map(labels.map(l => [l.id, l.name]))
  nv.onLocationChange = loc => {
    const lps = rasToLps(loc.mm)
    const labelValue = loc.values && loc.values[1] ? Math.round(loc.values[1].value) : 0
    const hu = loc.values && loc.values[0] ? Math.round(loc.values[0].value) : null
    location.textContent = `LPS ${lps.map(v => v.toFixed(1)).join(', ')} mm · ${hu} HU` +
      (labelValue ? ` · ${(byId.get(labelValue) || labelValue).toString().replaceAll('_', ' ')}` : '')
  }
  nv.createOnLocationChange() // fill the location line now
  nv.onMeasurementCompleted = m => {
    measure.textContent = `measured ${m.distance.toFixed(1)} mm`
  }

  function setActive (buttons, active) {
    for (const b of buttons) b.classList.toggle('active', b === active)
  }
  let readingWindow = WINDOWS.soft
  function applyWindow (w) {
    const ct = nv.volumes[0]
    ct.cal_min = w.level - w.width / 2
    ct.cal_max = w.level + w.width / 2
    nv.updateGLVolume()
  }
  function setView (type, button) {
    currentView = type
    const is3d = type === SLICE_TYPE.RENDER
    nv.opts.showLegend = is3d // nerve names with leader lines, 3D only
    nv.setClipPlane(is3d ? NO_CLIP : CUTAWAY)
    // the voxel nerves are for the slices; in 3D the tubes show them
    const voxels = nv.volumes.findIndex(v => v.name === 'nerves2d.nii')
    if (voxels >= 0) nv.setOpacity(voxels, is3d ? 0 : 1)
    applyWindow(is3d ? RENDER_WINDOW : readingWindow)
    setActive(windowButtons, is3d ? null : windowButtons[Object.values(WINDOWS).indexOf(readingWindow)])
    applyLabelVisibility()
    nv.setSliceType(type)
    setActive(viewButtons, button)
  }
  function setWindow (w, button) {
    readingWindow = w
    applyWindow(w)
    setActive(windowButtons, button)
  }
  function toggleMeasure () {
    const on = nv.opts.dragModePrimary !== DRAG_MODE.measurement
    nv.opts.dragModePrimary = on ? DRAG_MODE.measurement : DRAG_MODE.crosshair
    measureButton.classList.toggle('active', on)
    measure.textContent = on ? 'drag on a slice to measure' : ''
  }
  function jumpTo (n) {
    const lps = n.closest_point_nerve_mm || n.path_mm[Math.floor(n.path_mm.length / 2)]
    nv.scene.crosshairPos = nv.mm2frac(lpsToRas(lps))
    nv.updateGLVolume()
    nv.createOnLocationChange()
    for (const row of document.querySelectorAll('#risk-table tr.nerve')) row.classList.toggle('selected', row.dataset.nerve === n.id)
  }
  setActive(viewButtons, viewButtons[0])
  setActive(windowButtons, windowButtons[0])

  // For the browser test and for debugging in the console: the live viewer and its geometry helpers.
  window.nervemapViewer = {
    nv,
    report,
    labels,
    ready: true,
    crosshairRas: () => Array.from(nv.frac2mm(nv.scene.crosshairPos)).slice(0, 3),
    canvasPosOfRas: ras => canvasPosOfRas(nv, ras),
    layers: () => ({
      volumes: nv.volumes.map(v => v.name),
      nerveNames: nv.document.labels.map(l => l.text),
      meshes: nv.meshes.map(m => ({ name: m.name, fiberColor: m.fiberColor, vertices: m.pts ? m.pts.length / 3 : 0, dpv: m.dpv ? m.dpv.length : 0 }))
    })
  }
  document.body.dataset.viewer = 'ready'
}
