import AxeBuilder from '@axe-core/playwright'
import type { Locator, Page } from 'playwright-core'
import type { Test } from 'tap'
import type { App } from '../../app.ts'
import { ADMIN_KEY, authHeaders } from '../helper.ts'

// Steps the console tests share: a person's actions on the page, and the API calls that stand for "elsewhere".

export async function signIn (page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/#/sign-in`)
  await page.getByLabel('Admin key').fill(ADMIN_KEY)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { level: 1, name: 'Tonight' }).waitFor()
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor()
}

/** The card of one of tonight's games. */
export function gameCard (page: Page, title: string): Locator {
  return page.getByRole('article', { name: title })
}

/** The value shown for one fact (`Players`, `Status`...) of a card. */
export function fact (scope: Locator, name: string): Locator {
  return scope.locator('dt', { hasText: new RegExp(`^${name}$`) }).locator('xpath=following-sibling::dd[1]')
}

export async function api (app: App, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  const res = await app.inject({ method, url, headers: authHeaders(app), ...payload ? { payload } : {} })
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res.json()
}

export async function vote (app: App, username: string, type: 'up' | 'down') {
  return api(app, 'POST', '/api/votes/live', { username, vote: type, timestamp: new Date().toISOString() })
}

/** axe-core on what the page shows now: no violation at all. */
export async function noAxeViolation (t: Test, page: Page, what: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze()
  t.same(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe: ${what}`)
}

/**
 * Presses Tab (only the key) until `target` has the focus; fails after `max` presses, so what the keyboard cannot
 * reach fails the test.
 */
export async function tabTo (page: Page, target: Locator, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab')
    if (await target.evaluate((el) => el === el.ownerDocument.activeElement).catch(() => false)) return
  }
  throw new Error(`${target} was not reached with ${max} presses of Tab`)
}
