// The case list and the upload form. The list refreshes itself while any case is queued or running.
import { api, apiJson, upload } from './api.js'
import { h, formatBytes, formatTime } from './dom.js'

function statusCell (c) {
  if (c.status === 'running') {
    const pct = Math.round(100 * c.progress)
    return h('td', { class: 'status running' },
      h('progress', { max: 100, value: pct }), ` ${c.stage || ''} ${pct}%`)
  }
  return h('td', { class: `status ${c.status}`, title: c.error || '' }, c.status,
    c.status === 'failed' && c.error ? h('div', { class: 'reason' }, c.error) : null)
}

function uploadForm (onUploaded) {
  const progress = h('progress', { max: 100, value: 0, hidden: true })
  const message = h('p', { class: 'message' })
  const fileField = (name, label, hint, required) =>
    h('label', { class: 'file' }, h('span', {}, label, required ? ' *' : ''),
      h('input', { type: 'file', name, required, 'data-field': name }), h('small', {}, hint))
  const form = h('form', { class: 'upload', id: 'upload-form' },
    h('h2', {}, 'New case'),
    fileField('ct', 'CT', '.nii / .nii.gz, or a .zip of one DICOM series', true),
    fileField('structures', 'Structures', 'a .zip of a TotalSegmentator output folder, or its --ml file', true),
    fileField('tumor', 'Tumour', 'label map on the CT grid: 1 = GTVp, 2 = GTVn (optional)', false),
    h('label', { class: 'inline' }, 'A binary tumour mask is ',
      h('select', { name: 'tumor_label' }, h('option', { value: 'GTVp' }, 'GTVp (primary)'),
        h('option', { value: 'GTVn' }, 'GTVn (nodal)'))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Upload and run'), progress),
    message)
  form.addEventListener('submit', async e => {
    e.preventDefault()
    const data = new FormData()
    let total = 0
    for (const input of form.querySelectorAll('input[type=file]')) {
      if (input.files.length) {
        data.append(input.name, input.files[0], input.files[0].name)
        total += input.files[0].size
      }
    }
    data.append('tumor_label', form.querySelector('select[name=tumor_label]').value)
    const button = form.querySelector('button')
    button.disabled = true
    progress.hidden = false
    message.className = 'message'
    message.textContent = `uploading ${formatBytes(total)}…`
    try {
      const { id } = await upload('/api/cases', data, f => {
        progress.value = Math.round(100 * f)
        message.textContent = f < 1 ? `uploading ${formatBytes(total)}… ${Math.round(100 * f)}%`
          : 'checking the files on the server…'
      })
      message.textContent = `case ${id} queued`
      form.reset()
      onUploaded(id)
    } catch (err) {
      message.className = 'message error'
      message.textContent = err.message
    } finally {
      button.disabled = false
      progress.hidden = true
    }
  })
  return form
}

export async function showCaseList (main) {
  document.getElementById('crumb').textContent = ''
  const body = h('tbody', { id: 'case-rows' })
  const table = h('table', { class: 'cases' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Case'), h('th', {}, 'Uploaded'), h('th', {}, 'Status'), h('th', {}))),
    body)
  let timer = null
  async function refresh () {
    clearTimeout(timer)
    const cases = await apiJson('/api/cases')
    body.replaceChildren(...cases.slice().reverse().map(c => h('tr', { 'data-id': c.id, 'data-status': c.status },
      h('td', {}, h('a', { href: `/case/${c.id}` }, c.name || c.id), h('div', { class: 'id' }, c.id)),
      h('td', {}, formatTime(c.created)),
      statusCell(c),
      h('td', {}, h('button', {
        class: 'link danger',
        title: 'delete the case and its files',
        onclick: async () => {
          if (!confirm(`Delete case ${c.name || c.id} and all its files?`)) return
          await api(`/api/cases/${c.id}`, { method: 'DELETE' })
          refresh()
        }
      }, 'delete')))))
    if (!cases.length) body.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No cases yet.')))
    if (cases.some(c => c.status === 'queued' || c.status === 'running')) timer = setTimeout(refresh, 1000)
  }
  main.replaceChildren(h('section', { class: 'list-page' },
    h('div', {}, h('h2', {}, 'Cases'), table), uploadForm(refresh)))
  await refresh()
}
