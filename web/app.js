// The viewer's entry: "/" lists the cases and takes uploads, "/case/{id}" shows one case.
import { signIn } from './api.js'
import { showCaseList } from './cases.js'
import { showCase } from './case.js'

const main = document.getElementById('main')

async function route () {
  await signIn()
  const match = location.pathname.match(/^\/case\/([0-9a-f]{16})$/)
  if (match) await showCase(main, match[1])
  else await showCaseList(main)
}

route().catch(err => {
  console.warn(err)
  main.innerHTML = ''
  const p = document.createElement('p')
  p.className = 'error'
  p.textContent = `Error: ${err.message}`
  main.append(p)
})
