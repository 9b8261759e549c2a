// End-to-end test of the viewer in Debian's Chromium (playwright-core, no browser download): a real
// `nervemap serve` on 127.0.0.1, the phantom uploaded through the page, the case opened when its job is
// done. Checks: WebGL2 first; no console errors; the label overlay and the nerve layers loaded; in a
// screenshot, tumour-coloured and risk-coloured pixels where the tumour and the nearest nerve project;
// clicking a nerve row moves the crosshair to its point closest to the tumour.
//
//   NERVEMAP_BIN=build/bin/nervemap node --test tests/browser/viewer.test.mjs
// Screenshots go to $NERVEMAP_SCREENSHOTS (default build/browser-screenshots) to be looked at.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chromium } from 'playwright-core'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..')
const bin = process.env.NERVEMAP_BIN || path.join(root, 'build/bin/nervemap')
const shots = process.env.NERVEMAP_SCREENSHOTS || path.join(root, 'build/browser-screenshots')
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium'

let work, server, baseUrl, browser, page
const consoleErrors = []

function startServer (data) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--data', data],
      { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let log = ''
    child.stderr.on('data', d => { log += d })
    child.stdout.on('data', d => {
      out += d
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
      if (m) resolve({ child, url: m[1], log: () => log })
    })
    child.on('exit', code => reject(new Error(`server exited (${code}): ${log}`)))
    setTimeout(() => reject(new Error('server did not start')), 30000)
  })
}

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'nervemap-browser-'))
  mkdirSync(shots, { recursive: true })
  // The phantom with a primary tumour (GTVp, magenta) 3 mm from the left vagus, structures as one
  // TotalSegmentator --ml file; 2 mm voxels keep the job short.
  execFileSync(bin, ['phantom', '--out', path.join(work, 'case'), '--seed', '7', '--spacing', '2', '2', '2',
    '--tumor-near', 'vagus_left', '3', '12', '--tumor-type', 'GTVp', '--layout', 'ml', '--quiet'])
  server = await startServer(path.join(work, 'data'))
  baseUrl = server.url
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--enable-unsafe-swiftshader']
  })
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  page.on('console', msg => { if (msg.type() === 'error') consoleErrors.push(msg.text()) })
  page.on('pageerror', err => consoleErrors.push(`page error: ${err.message}`))
  // ERR_ABORTED is a request cut short by the page navigating away (e.g. to the case), not a failure.
  page.on('requestfailed', req => {
    if (req.failure()?.errorText !== 'net::ERR_ABORTED') consoleErrors.push(`request failed: ${req.url()} ${req.failure()?.errorText}`)
  })
  page.on('response', res => { if (res.status() >= 400) consoleErrors.push(`HTTP ${res.status()} ${res.url()}`) })
  // Nothing may come from anywhere but our server (watched, not intercepted: interception is slow).
  page.on('request', req => {
    const url = req.url()
    if (!url.startsWith(baseUrl) && !url.startsWith('data:') && !url.startsWith('blob:')) consoleErrors.push(`off-server request: ${url}`)
  })
})

after(async () => {
  await browser?.close()
  if (server) server.child.kill('SIGTERM')
  if (work) rmSync(work, { recursive: true, force: true })
})

test('WebGL2 is available in this Chromium', async () => {
  await page.goto(baseUrl + '/')
  const gl2 = await page.evaluate(() => {
    const gl = document.createElement('canvas').getContext('webgl2')
    return gl ? gl.getParameter(gl.VERSION) : null
  })
  assert.ok(gl2, 'no WebGL2 context (SwiftShader flags?)')
  assert.match(gl2, /WebGL 2/)
})

test('upload the phantom, wait for the job, open the case', { timeout: 180000 }, async () => {
  await page.goto(baseUrl + '/')
  await page.locator('#upload-form').waitFor()
  await page.setInputFiles('input[name=ct]', path.join(work, 'case/ct.nii.gz'))
  await page.setInputFiles('input[name=structures]', path.join(work, 'case/structures.nii.gz'))
  await page.setInputFiles('input[name=tumor]', path.join(work, 'case/tumor.nii.gz'))
  const started = Date.now()
  await page.click('#upload-form button[type=submit]')
  await page.locator('#case-rows tr[data-status=done]').waitFor({ timeout: 120000 })
  console.log(`upload + job through the page: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  await page.screenshot({ path: path.join(shots, 'case-list.png') })
  await page.click('#case-rows tr[data-status=done] a')
  await page.waitForURL(/\/case\/[0-9a-f]{16}$/)
  await page.waitForFunction(() => document.body.dataset.viewer === 'ready', null, { timeout: 60000 })
  await page.waitForTimeout(500) // a few frames
  await page.screenshot({ path: path.join(shots, 'case-multiplanar.png') })
})

test('the overlay and the nerve layers loaded', async () => {
  const layers = await page.evaluate(() => window.nervemapViewer.layers())
  assert.equal(layers.volumes.length, 3, JSON.stringify(layers)) // CT, labels, nerves for the slices
  assert.ok(layers.volumes.includes('nerves2d.nii'), JSON.stringify(layers))
  const nerves = layers.meshes.find(m => m.name === 'nerves.tck')
  assert.ok(nerves, JSON.stringify(layers))
  assert.equal(nerves.fiberColor, 'DPV0')
  assert.equal(nerves.dpv, 1)
  assert.ok(nerves.vertices > 100)
  assert.ok(layers.meshes.find(m => m.name === 'corridors'), 'corridor mesh missing')
  const estimated = await page.evaluate(() => window.nervemapViewer.report.nerves.filter(n => n.status === 'estimated').length)
  assert.equal(layers.nerveNames.length, estimated, 'a name for every estimated nerve in the 3D view')
  assert.ok(layers.nerveNames.includes('Vagus (X) L'))
  const legend = await page.locator('#structure-legend input').count()
  assert.ok(legend > 10, `legend has ${legend} entries`)
  assert.ok(await page.locator('#structure-legend input[data-label=GTVp]').count(), 'tumour missing from the legend')
})

// Count pixels within colour ranges ({r: [min, max], g: ..., b: ...}) in a square around (x, y) (CSS
// px) of a PNG screenshot, decoded by the page (the page's CSP allows no eval, so ranges, not code).
async function pixelsNear (png, x, y, radius, range) {
  return page.evaluate(async ({ data, x, y, radius, range }) => {
    const img = new Image()
    img.src = 'data:image/png;base64,' + data
    await img.decode()
    const c = new OffscreenCanvas(img.width, img.height)
    const g = c.getContext('2d')
    g.drawImage(img, 0, 0)
    const within = (v, [lo, hi]) => v >= lo && v <= hi
    const test = (r, g, b) => within(r, range.r) && within(g, range.g) && within(b, range.b)
    const px = g.getImageData(Math.round(x - radius), Math.round(y - radius), 2 * radius + 1, 2 * radius + 1).data
    let n = 0
    for (let i = 0; i < px.length; i += 4) if (test(px[i], px[i + 1], px[i + 2])) n++
    return n
  }, { data: png.toString('base64'), x, y, radius, range })
}

test('clicking the nearest nerve moves the crosshair to its closest point; tumour and nerve are drawn there', async () => {
  const nerves = await page.evaluate(() => window.nervemapViewer.report.nerves
    .filter(n => n.status === 'estimated' && n.min_distance_mm !== null)
    .sort((a, b) => a.min_distance_mm - b.min_distance_mm)
    .map(n => ({ id: n.id, nerve: n.closest_point_nerve_mm, tumour: n.closest_point_tumour_mm, d: n.min_distance_mm })))
  // The tumour was placed 3 mm from the left vagus; in the phantom the left EBSLN may run as close.
  const vagus = nerves.find(n => n.id === 'vagus_left')
  assert.ok(vagus && vagus.d < 5, `left vagus ${vagus?.d} mm from the tumour`)
  const nearest = nerves[0]
  assert.ok(nearest.d <= vagus.d)
  const before = await page.evaluate(() => window.nervemapViewer.crosshairRas())
  await page.click(`#risk-table tr[data-nerve=${nearest.id}]`)
  const crosshair = await page.evaluate(() => window.nervemapViewer.crosshairRas())
  const expected = [-nearest.nerve[0], -nearest.nerve[1], nearest.nerve[2]] // report LPS → viewer RAS
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(crosshair[i] - expected[i]) < 0.5, `crosshair ${crosshair} vs ${expected}`)
  assert.ok(Math.hypot(...before.map((v, i) => v - crosshair[i])) > 1, 'the crosshair did not move')
  assert.match(await page.locator('#location').textContent(), /LPS/)

  // One axial slice at the closest point: find where the nerve and the tumour project.
  await page.click('button[data-view=axial]')
  const setLabelOpacity = async percent => {
    await page.fill('#label-opacity', String(percent))
    await page.dispatchEvent('#label-opacity', 'input')
    await page.waitForTimeout(300)
  }
  const canvasBox = await page.locator('#gl').boundingBox()
  const project = ras => page.evaluate(r => window.nervemapViewer.canvasPosOfRas(r), ras)
  const nervePx = await project(expected)
  // A point 3 mm inside the tumour beyond its closest point (the closest point is on its edge), in the
  // plane of the slice shown.
  const tumourRas = [-nearest.tumour[0], -nearest.tumour[1]]
  const away = [tumourRas[0] - expected[0], tumourRas[1] - expected[1]]
  const len = Math.hypot(...away) || 1
  const tumourPx = await project([tumourRas[0] + 3 * away[0] / len, tumourRas[1] + 3 * away[1] / len, expected[2]])
  assert.ok(nervePx && tumourPx, 'points do not project into the axial view')
  const at = p => [canvasBox.x + p.x, canvasBox.y + p.y]
  // Risk colours within 3 mm: red to orange (R well above grey, B low), drawn darker where the nerve
  // voxels are partial; never the crosshair's blue. With the structure labels hidden, so that the red of
  // an artery beside the nerve cannot pass for it.
  await setLabelOpacity(0)
  // The crosshair sits on the nerve's point; hide it for the pixel checks (a nerve crossing the slice
  // obliquely, like the EBSLN, is only a few pixels under it).
  await page.evaluate(() => { window.nervemapViewer.nv.setCrosshairWidth(0) })
  await page.waitForTimeout(300)
  const nervePng = await page.screenshot({ path: path.join(shots, 'case-axial-nearest-nerve.png') })
  const risk = await pixelsNear(nervePng, ...at(nervePx), 6, { r: [120, 255], g: [0, 169], b: [0, 60] })
  assert.ok(risk >= 4, `no risk-coloured nerve pixels at ${JSON.stringify(nervePx)} (${risk})`)
  // GTVp is magenta (255, 0, 255) in labels.json; labels opaque.
  await setLabelOpacity(100)
  const tumourPng = await page.screenshot({ path: path.join(shots, 'case-axial-tumour.png') })
  const tumour = await pixelsNear(tumourPng, ...at(tumourPx), 6, { r: [151, 255], g: [0, 109], b: [151, 255] })
  assert.ok(tumour >= 4, `no tumour-coloured pixels at ${JSON.stringify(tumourPx)} (${tumour})`)
  await page.evaluate(() => { window.nervemapViewer.nv.setCrosshairWidth(0.25) })
})

test('views, window presets, measurement and the 3D view work without errors', async () => {
  await page.click('button[data-window=bone]')
  await page.click('button[data-view=coronal]')
  await page.screenshot({ path: path.join(shots, 'case-coronal-bone.png') })
  await page.click('button[data-window=soft]')
  await page.click('button[data-view="3d"]')
  await page.waitForTimeout(300)
  await page.screenshot({ path: path.join(shots, 'case-3d.png') })
  await page.click('button[data-view=axial]')
  await page.click('button[data-tool=measure]')
  const box = await page.locator('#gl').boundingBox()
  await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.5)
  await page.mouse.down()
  await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.5, { steps: 5 })
  await page.mouse.up()
  await page.waitForTimeout(200)
  assert.match(await page.locator('#measure-result').textContent(), /measured \d+(\.\d)? mm/)
  await page.click('button[data-view=all]')
  await page.waitForTimeout(300)
  await page.screenshot({ path: path.join(shots, 'case-multiplanar-after.png') })
  assert.deepEqual(consoleErrors, [], consoleErrors.join('\n'))
})
