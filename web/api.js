// Talking to the nervemap API: bearer token from this tab's session storage, a login cookie for the
// requests that cannot carry a header (EventSource, NiiVue's file fetches), JSON errors as exceptions.
const TOKEN_KEY = 'nervemap.token'

export class ApiError extends Error {
  constructor (status, message) {
    super(message)
    this.status = status
  }
}

function authHeaders (headers = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY)
  return token ? { ...headers, Authorization: `Bearer ${token}` } : headers
}

async function errorOf (res) {
  let message = res.statusText
  try {
    message = (await res.json()).error || message
  } catch {}
  return new ApiError(res.status, message)
}

// Ask for the token in a dialog until the server accepts it; sets the session cookie.
async function askToken () {
  const dialog = document.getElementById('token-dialog')
  const input = document.getElementById('token-input')
  const error = document.getElementById('token-error')
  for (;;) {
    dialog.showModal()
    await new Promise(resolve => dialog.addEventListener('close', resolve, { once: true }))
    const res = await fetch('/api/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: input.value })
    })
    if (res.ok) {
      sessionStorage.setItem(TOKEN_KEY, input.value)
      input.value = ''
      return
    }
    error.textContent = (await errorOf(res)).message
    error.hidden = false
  }
}

// Make sure this tab is signed in (cookie set); asks for the token only if the server wants one.
export async function signIn () {
  const token = sessionStorage.getItem(TOKEN_KEY) || ''
  const res = await fetch('/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token })
  })
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY)
    await askToken()
  } else if (!res.ok) {
    throw await errorOf(res)
  }
}

export async function api (path, options = {}) {
  let res = await fetch(path, { ...options, headers: authHeaders(options.headers) })
  if (res.status === 401) {
    await signIn()
    res = await fetch(path, { ...options, headers: authHeaders(options.headers) })
  }
  if (!res.ok) throw await errorOf(res)
  return res
}

export async function apiJson (path, options) {
  return (await api(path, options)).json()
}

export function fileUrl (id, name) {
  return `/api/cases/${id}/files/${name.split('/').map(encodeURIComponent).join('/')}`
}

// POST a multipart form with upload progress (fetch cannot report it). Resolves to the JSON answer.
export function upload (path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', path)
    const headers = authHeaders()
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v)
    xhr.upload.onprogress = e => e.lengthComputable && onProgress(e.loaded / e.total)
    xhr.onload = () => {
      let body = {}
      try { body = JSON.parse(xhr.responseText) } catch {}
      if (xhr.status >= 200 && xhr.status < 300) resolve(body)
      else reject(new ApiError(xhr.status, body.error || `upload failed (${xhr.status})`))
    }
    xhr.onerror = () => reject(new ApiError(0, 'the upload was interrupted (is the server running?)'))
    xhr.send(form)
  })
}

// Follow a case's state with server-sent events until it is done or failed.
export function follow (id, onState) {
  const events = new EventSource(`/api/cases/${id}/events`)
  events.onmessage = e => {
    const state = JSON.parse(e.data)
    onState(state)
    if (state.status === 'done' || state.status === 'failed') events.close()
  }
  events.addEventListener('deleted', () => {
    events.close()
    onState({ id, status: 'deleted' })
  })
  return () => events.close()
}
