// e2e.mjs: Haven's pages in a real browser (Debian's chromium, driven by playwright-core)
// against a real `haven serve` on loopback, started by tests/web/run.sh, which also
// creates the clinician and administrator accounts. Each flow prints "ok NAME" or
// "FAIL NAME"; the last line is "N passed, N failed, N skipped". A flow that needs an
// API this server does not have yet (chat, assessments, alerts) is skipped, and says so.
//
//   node e2e.mjs http://127.0.0.1:PORT DBFILE
// Environment: SCREENSHOTS_DIR=dir also saves screenshots of the main pages at desktop
// and phone sizes there; E2E_ONLY=regex runs only the flows whose names match.
import {chromium} from 'playwright-core';
import {execFileSync} from 'node:child_process';
import {readFileSync, mkdirSync} from 'node:fs';
import {createRequire} from 'node:module';
import assert from 'node:assert/strict';

const BASE = process.argv[2];
const DB = process.argv[3];
const SHOTS = process.env.SCREENSHOTS_DIR || '';
const ONLY = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY) : null;
const PASSWORD = 'a long test passphrase';
const CLINICIAN = 'dr.lee@clinic.example';
const ADMIN = 'admin@clinic.example';

const browser = await chromium.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
	args: ['--no-sandbox']});
let passed = 0, failed = 0, skipped = 0;
let counter = 0;

class Skip extends Error {}

async function newPage(viewport = {width: 1280, height: 800}, extra = {}) {
	const context = await browser.newContext({viewport, acceptDownloads: true, ...extra});
	const page = await context.newPage();
	page.cspViolations = [];
	page.on('console', msg => {
		if (/Content.Security.Policy|Refused to/i.test(msg.text())) page.cspViolations.push(msg.text());
	});
	page.on('pageerror', err => page.cspViolations.push(`page error: ${err.message}`));
	page.on('dialog', d => d.accept());
	return {context, page};
}

async function go(page, hash) {
	await page.goto(`${BASE}/${hash}`);
	await page.waitForSelector('body[data-ready="1"]');
}

async function login(page, email) {
	await go(page, '#/login');
	await page.getByLabel('Email address').fill(email);
	await page.getByLabel('Password').fill(PASSWORD);
	await page.getByRole('button', {name: 'Sign in'}).click();
	await page.waitForSelector('#logout');
}

async function logout(page) {
	await page.click('#logout');
	await page.waitForSelector('text=You have signed out.');
}

async function invite(page) {
	await go(page, '#/invite');
	await page.getByRole('button', {name: 'Create an invitation code'}).click();
	const code = (await page.textContent('#invite-code')).trim();
	assert.match(code, /^[A-Za-z0-9_-]{43}$/);
	return code;
}

async function signup(page, code, email, careTeam) {
	await go(page, `#/signup?code=${code}`);
	// The consent page comes before anything else.
	await page.waitForSelector('h1:has-text("Before you start")');
	assert.ok(await page.isVisible('text=It is not a therapist'));
	assert.ok(await page.isVisible('text=Safety concerns always reach your care team'));
	await page.getByRole('button', {name: 'Continue'}).click();
	await page.waitForSelector('[role=alert]:has-text("Please tick the box")');
	if (careTeam) await page.check('#consent-care_team');
	await page.check('#consent-understood');
	await page.getByRole('button', {name: 'Continue'}).click();
	await page.waitForSelector('h1:has-text("Create your account")');
	assert.equal(await page.inputValue('input[name=code]'), code);
	await page.getByLabel('Email address').fill(email);
	await page.getByLabel('Choose a password').fill(PASSWORD);
	await page.getByLabel('Type the password again').fill(PASSWORD);
	await page.getByRole('button', {name: 'Create my account'}).click();
	await page.waitForSelector('h1:has-text("Welcome to Haven")');
}

async function checkin(page, mood, sleep, note) {
	await go(page, '#/checkin');
	await page.locator('#checkin-mood').fill(String(mood));
	await page.getByLabel('How many hours did you sleep last night?').fill(String(sleep));
	if (note) await page.getByLabel('Anything you want to note? (optional)').fill(note);
	await page.getByRole('button', {name: 'Save my check-in'}).click();
	await page.waitForSelector('text=Saved. Thank you for checking in.');
}

async function apiAvailable(page, method, path) {
	return page.evaluate(async ([m, p]) => {
		const r = await fetch(`/api/v1${p}`, {method: m, headers: {'Content-Type': 'application/json'}, body: m === 'GET' ? undefined : '{}'});
		return r.status !== 404 && r.status !== 405;
	}, [method, path]);
}

function noRawJson(text) {
	assert.ok(!/[{}]|"error"|"code"/.test(text), `raw JSON shown to the person: ${text}`);
}

async function shot(page, name) {
	if (!SHOTS) return;
	mkdirSync(SHOTS, {recursive: true});
	await page.waitForTimeout(150); // let charts draw
	await page.screenshot({path: `${SHOTS}/${name}.png`, fullPage: true});
}

async function flow(name, fn) {
	// E2E_ONLY=regex runs only the flows whose names match (while working on one page).
	if (ONLY && !ONLY.test(name)) return;
	const opened = [];
	const open = async (viewport, extra) => {
		const p = await newPage(viewport, extra);
		opened.push(p);
		return p.page;
	};
	try {
		await fn(open);
		for (const {page} of opened) assert.deepEqual(page.cspViolations, [], 'no CSP violations or script errors');
		console.log(`ok   web ${name}`);
		passed++;
	} catch (e) {
		if (e instanceof Skip) {
			console.log(`skip web ${name}: ${e.message}`);
			skipped++;
		} else {
			console.log(`FAIL web ${name}\n    ${String(e.stack || e).split('\n').slice(0, 6).join('\n    ')}`);
			failed++;
		}
	} finally {
		for (const {context} of opened) await context.close();
	}
}

const unique = prefix => `${prefix}${++counter}-${Date.now()}@example.org`;

await flow('security headers and static files', async open => {
	const page = await open();
	const resp = await page.goto(`${BASE}/`);
	const hd = resp.headers();
	assert.match(hd['content-security-policy'], /script-src 'self'/);
	assert.match(hd['content-security-policy'], /frame-ancestors 'none'/);
	assert.equal(hd['x-content-type-options'], 'nosniff');
	assert.ok(hd.etag);
	const js = await page.request.get(`${BASE}/js/app.js`);
	assert.match(js.headers()['content-type'], /^text\/javascript/);
	const traversal = await page.request.get(`${BASE}/js/../../README.md`);
	assert.equal(traversal.status(), 404);
	const vendor = await page.request.get(`${BASE}/vendor/uPlot.esm.js`);
	assert.equal(vendor.status(), 200);
});

await flow('sign-in errors are plain words', async open => {
	const page = await open();
	await go(page, '#/login');
	await page.getByRole('button', {name: 'Sign in'}).click();
	await page.waitForSelector('[role=alert]:has-text("Please enter your email address and your password.")');
	await page.getByLabel('Email address').fill(CLINICIAN);
	await page.getByLabel('Password').fill('not the password at all');
	await page.getByRole('button', {name: 'Sign in'}).click();
	const alert = page.locator('[role=alert]:has-text("do not match")');
	await alert.waitFor();
	noRawJson(await alert.textContent());
	// A bad invitation code.
	await go(page, '#/signup?code=nosuchcode');
	await page.check('#consent-understood');
	await page.getByRole('button', {name: 'Continue'}).click();
	await page.getByLabel('Email address').fill(unique('nobody'));
	await page.getByLabel('Choose a password').fill(PASSWORD);
	await page.getByLabel('Type the password again').fill(PASSWORD);
	await page.getByRole('button', {name: 'Create my account'}).click();
	const bad = page.locator('[role=alert]:has-text("invitation code is not valid")');
	await bad.waitFor();
	noRawJson(await bad.textContent());
});

const patientEmail = unique('sam');
await flow('patient signs up, consents, checks in, manages data, erases the account', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	const code = await invite(page);
	await logout(page);
	await signup(page, code, patientEmail, true);
	// The session is an HttpOnly cookie: scripts cannot read it.
	const cookies = await page.context().cookies();
	const c = cookies.find(x => x.name === 'haven_session');
	assert.ok(c && c.httpOnly && c.sameSite === 'Strict');
	assert.ok(!(await page.evaluate(() => document.cookie)).includes('haven_session'));
	await shot(page, 'patient-home-desktop');

	// Check-ins, with a plain error for a bad value.
	await go(page, '#/checkin');
	await page.getByRole('button', {name: 'Save my check-in'}).click();
	await page.waitForSelector('[role=alert]:has-text("Please enter the hours you slept")');
	await checkin(page, 3, 5, 'rough week at work');
	await checkin(page, 6, 7.5, 'walked by the river');
	// The page says "Saved" before it has read the list back: wait for the list.
	await page.waitForSelector('section li:has-text("walked by the river")');
	await shot(page, 'checkin-desktop');

	// Progress: the mood chart is drawn.
	await go(page, '#/progress');
	await page.waitForSelector('.chart canvas');
	await shot(page, 'progress-desktop');
	// The GAD-7: its form, the score with its band explained, and its chart on the progress page.
	await go(page, '#/assess/gad7');
	await page.waitForSelector('h1:has-text("(GAD-7)")');
	const gad = [1, 1, 2, 1, 1, 1, 1];
	for (let i = 0; i < 7; i++) await page.check(`#gad7-q${i}-${gad[i]}`);
	await page.getByRole('button', {name: 'See my score'}).click();
	await page.waitForSelector('h2:has-text("Your GAD-7 score: 8 out of 21")');
	assert.ok(await page.isVisible('text=That is in the "mild" range.'));
	assert.ok(await page.isVisible('text=GAD-7 ranges: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe'));
	await go(page, '#/progress');
	await page.waitForSelector('figure.chart:has-text("GAD-7") canvas');

	// My data: withdraw and grant consents, download the export.
	await go(page, '#/data');
	assert.ok(await page.isChecked('#scope-care_team'));
	await page.check('#scope-research');
	await page.uncheck('#scope-care_team');
	await page.getByRole('button', {name: 'Save my choices'}).click();
	await page.waitForSelector('text=Your choices are saved.');
	await go(page, '#/data');
	assert.ok(!(await page.isChecked('#scope-care_team')));
	assert.ok(await page.isChecked('#scope-research'));
	await page.check('#scope-care_team');
	await page.getByRole('button', {name: 'Save my choices'}).click();
	await page.waitForSelector('text=Your choices are saved.');
	await shot(page, 'my-data-desktop');
	const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-link')]);
	const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
	assert.ok(JSON.stringify(exported).includes('walked by the river'));

	// Erasure: refused until confirmed, then the account is gone.
	await page.getByRole('button', {name: 'Delete my account and all my data'}).click();
	await page.waitForSelector('[role=alert]:has-text("type the word DELETE")');
	await page.getByLabel('Type DELETE to confirm').fill('DELETE');
	await page.getByRole('button', {name: 'Delete my account and all my data'}).click();
	await page.waitForSelector('text=Your account and all your data have been deleted.');
	await go(page, '#/login');
	await page.getByLabel('Email address').fill(patientEmail);
	await page.getByLabel('Password').fill(PASSWORD);
	await page.getByRole('button', {name: 'Sign in'}).click();
	await page.waitForSelector('[role=alert]:has-text("do not match")');
});

const keptEmail = unique('alex');
await flow('clinician invites, sees the caseload and the patient', async open => {
	const clin = await open();
	await login(clin, CLINICIAN);
	const code = await invite(clin);
	await shot(clin, 'invite-desktop');
	const pat = await open({width: 390, height: 844});
	await signup(pat, code, keptEmail, true);
	await shot(pat, 'patient-home-phone');
	await checkin(pat, 4, 6, 'worried about exams');
	await shot(pat, 'checkin-phone');
	await go(pat, '#/progress');
	await pat.waitForSelector('.chart canvas');
	await shot(pat, 'progress-phone');

	await go(clin, '#/caseload');
	const link = clin.getByRole('link', {name: keptEmail});
	await link.waitFor();
	// The caseload shows each patient's deterioration-risk score (a percentage).
	const row = clin.locator('table.caseload tbody tr', {has: clin.getByRole('link', {name: keptEmail})});
	assert.match(await row.locator('td').nth(2).innerText(), /^\d{1,3}%/);
	await shot(clin, 'caseload-desktop');
	await link.click();
	await clin.waitForSelector(`h1:has-text("Patient: ${keptEmail}")`);
	await clin.waitForSelector('.chart canvas');
	assert.ok(await clin.isVisible('text=Download FHIR R4 bundle'));
	// The risk score with what makes it up.
	await clin.waitForSelector('h2:has-text("Deterioration risk")');
	assert.ok(await clin.isVisible('table:has(caption:has-text("What makes up the score")) tbody tr'));
	await shot(clin, 'patient-page-desktop');
});

await flow('an expired session says so', async open => {
	const page = await open();
	// Expires every session in the database. The server writes too (audit records), so
	// wait for its write lock rather than fail on it.
	const expireAll = () => execFileSync('sqlite3', ['-cmd', '.timeout 10000', DB, 'UPDATE sessions SET expires_at = 1;']);
	await login(page, CLINICIAN);
	// The caseload (the clinician's home) has finished its requests: none is in flight
	// when the session expires, so the next one is the one that finds it expired.
	await page.waitForLoadState('networkidle');
	// While the page is open: the next request finds the session expired.
	await page.getByRole('link', {name: 'Invite a patient'}).click();
	await page.waitForSelector('h1:has-text("Invite a patient")');
	expireAll();
	await page.getByRole('link', {name: 'Caseload'}).click();
	await page.waitForSelector('text=Your session has expired');
	await page.waitForSelector('h1:has-text("Sign in to Haven")');
	assert.ok(!(await page.context().cookies()).find(x => x.name === 'haven_session'), 'the expired cookie is cleared');
	// On a reload: the page says so before asking to sign in.
	await login(page, CLINICIAN);
	await page.waitForLoadState('networkidle');
	expireAll();
	await page.reload();
	await page.waitForSelector('text=Your session has expired');
	await page.waitForSelector('h1:has-text("Sign in to Haven")');
});

await flow('sign out clears the session', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	await logout(page);
	assert.ok(!(await page.context().cookies()).find(x => x.name === 'haven_session'));
	await go(page, '#/caseload');
	await page.waitForSelector('h1:has-text("Sign in to Haven")');
});

await flow('administrator sees accounts and a verified audit log', async open => {
	const page = await open();
	await login(page, ADMIN);
	await page.waitForSelector('h1:has-text("Accounts")');
	assert.ok(await page.isVisible(`text=${CLINICIAN}`));
	await shot(page, 'accounts-desktop');
	await go(page, '#/audit');
	await page.waitForSelector('text=The audit log is intact');
	await page.waitForSelector('td:has-text("auth.login")');
	await shot(page, 'audit-desktop');
});

await flow('crisis lines are one tap away on a phone', async open => {
	const page = await open({width: 390, height: 844});
	await go(page, '#/login');
	// The link at the top opens the lines over the page the person is on.
	await page.click('#crisis-link');
	const panel = page.locator('#crisis-dialog[open]');
	await panel.waitFor();
	assert.ok(await panel.getByRole('heading', {name: 'Need help now?'}).isVisible());
	assert.ok(await panel.locator('a[href="tel:988"]').first().isVisible());
	assert.ok(await panel.locator('a[href="tel:116123"]').first().isVisible());
	assert.equal(await page.evaluate(() => location.hash), '#/login');
	await shot(page, 'help-phone');
	await panel.getByRole('button', {name: 'Close'}).click();
	await panel.waitFor({state: 'detached'});
	assert.ok(await page.isVisible('h1:has-text("Sign in")'));
	// The same lines at the link's own address (the footer's link, a new tab).
	await go(page, '#/help');
	await page.waitForSelector('h1:has-text("Need help now?")');
	assert.ok(await page.locator('main a[href="tel:988"]').first().isVisible());
	await go(page, '#/login');
	await shot(page, 'login-phone');
});

// The top bar: at desktop width one row (the name, the crisis link, every navigation link and
// who is signed in, even with a long email address, which is cut short on screen but whole in
// its text and title); on a phone nothing runs off the side, the name and the crisis link
// share the first row, each link is a target of at least 24 by 24 pixels (WCAG 2.2's minimum)
// and the bar takes at most a quarter of the screen.
async function barLayout(page) {
	return page.evaluate(() => {
		const box = e => e.getBoundingClientRect();
		const items = [document.querySelector('.brand'), document.getElementById('crisis-link'),
			...document.querySelectorAll('#nav li')].filter(e => box(e).height > 0);
		const rows = [];
		for (const e of items) {
			const mid = box(e).top + box(e).height / 2;
			if (!rows.some(r => Math.abs(r - mid) < 8)) rows.push(mid);
		}
		const links = [...document.querySelectorAll('#nav a, #nav button, #crisis-link, .brand')].map(e => ({
			text: e.textContent.trim(), left: box(e).left, right: box(e).right, width: box(e).width, height: box(e).height}))
			.filter(l => l.width > 0); // the crisis link is hidden for administrators
		const crisis = document.getElementById('crisis-link');
		const mid = e => box(e).top + box(e).height / 2;
		return {rows: rows.length, bar: box(document.querySelector('.top')).height,
			scrollWidth: document.documentElement.scrollWidth, links,
			crisisBesideName: crisis.hidden || Math.abs(mid(document.querySelector('.brand')) - mid(document.getElementById('crisis-link'))) < 8,
			email: document.querySelector('#nav .email')?.textContent, emailTitle: document.querySelector('#nav .email')?.title};
	});
}
async function assertBar(page, width, email) {
	await page.setViewportSize({width, height: width < 500 ? 844 : 800});
	await page.waitForTimeout(50);
	const bar = await barLayout(page);
	const what = `${width}px: ${JSON.stringify(bar.links.map(l => l.text))}`;
	assert.ok(bar.scrollWidth <= width, `nothing runs off the side at ${what} (${bar.scrollWidth})`);
	for (const l of bar.links) assert.ok(l.left >= 0 && l.right <= width + 0.5, `"${l.text}" is on screen at ${width}px`);
	if (email) {
		assert.equal(bar.email, email);
		assert.equal(bar.emailTitle, email);
	}
	if (width >= 1280) {
		assert.equal(bar.rows, 1, `the top bar is one row at ${what}`);
		assert.ok(bar.bar < 70, `the top bar is one row high at ${width}px (${bar.bar}px)`);
	} else {
		assert.ok(bar.crisisBesideName, 'on a phone the crisis link is on the first row, beside the name');
		for (const l of bar.links) assert.ok(l.width >= 24 && l.height >= 24, `"${l.text}" is at least 24x24 (${l.width}x${l.height})`);
		assert.ok(bar.bar <= 844 / 4, `the top bar takes at most a quarter of a phone screen (${bar.bar}px)`);
	}
}

await flow('navigation: one row at desktop width, usable on a phone', async open => {
	const page = await open();
	await go(page, '#/login');
	for (const w of [1280, 390]) await assertBar(page, w);
	await page.setViewportSize({width: 1280, height: 800});
	await login(page, CLINICIAN);
	for (const w of [1280, 390]) await assertBar(page, w, CLINICIAN);
	await page.setViewportSize({width: 1280, height: 800});
	const code = await invite(page);
	await logout(page);
	// A patient (the longest navigation) with a long address.
	const email = unique('alexandra-montgomery-whitfield');
	await signup(page, code, email, true);
	for (const w of [1280, 390, 1280]) await assertBar(page, w, email);
	await logout(page);
	await login(page, ADMIN);
	for (const w of [1280, 390]) await assertBar(page, w, ADMIN);
});

await flow('patient chats and sees the crisis protocol', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	const code = await invite(page);
	await logout(page);
	await signup(page, code, unique('kim'), true);
	if (!(await apiAvailable(page, 'GET', '/chat/messages'))) throw new Skip('the chat API is not on this server yet');
	await go(page, '#/chat');
	await page.getByLabel('Your message').fill('I have been feeling low this week');
	await page.getByRole('button', {name: 'Send'}).click();
	await page.waitForSelector('.msg.agent >> nth=1');
	// The agent asks a yes/no question (the onboarding terms): it offers Yes and No as
	// quick replies, and pressing Yes sends "yes" as the person's message; the agent moves on.
	const yesNo = page.getByRole('group', {name: 'Quick replies'});
	await yesNo.getByRole('button', {name: 'Yes'}).click();
	await page.waitForSelector('.msg.you:has-text("yes")');
	await page.waitForSelector('.msg.agent:has-text("You can stop any exercise")');
	assert.equal(await page.locator('#quick-replies').count(), 0, 'a free-text question offers no buttons');
	// A scale: a row of numbers from 0 to 10 with the words for its ends, answered from the
	// keyboard; typing is still possible alongside.
	await page.getByLabel('Your message').fill('can we do some breathing');
	await page.getByRole('button', {name: 'Send'}).click();
	const scale = page.getByRole('group', {name: 'Choose a number from 0 to 10'});
	await scale.waitFor();
	assert.equal(await scale.getByRole('button').count(), 11);
	assert.ok(await page.isVisible('#quick-replies-hint:has-text("0 = calm, 10 = extremely")'));
	assert.ok(await page.getByLabel('Your message').isEditable());
	await scale.getByRole('button', {name: '4', exact: true}).focus();
	await page.keyboard.press('Enter');
	await page.waitForSelector('.msg.you:has-text("4")');
	await page.waitForSelector('.msg.agent:has-text("Sit comfortably")');
	await page.getByLabel('Your message').fill('I want to kill myself tonight, I have the pills ready');
	await page.getByRole('button', {name: 'Send'}).click();
	await page.waitForSelector('#crisis-panel');
	assert.ok(await page.isVisible('#crisis-panel a[href="tel:988"]'));
	await shot(page, 'chat-crisis-desktop');
	// In the crisis protocol a denial gets one confirming question, a yes/no: its buttons
	// are there, and the crisis panel stays.
	await page.getByLabel('Your message').fill("I'm fine, you misunderstood");
	await page.getByRole('button', {name: 'Send'}).click();
	await page.waitForSelector('.msg.agent:has-text("I\'ll ask once, clearly")');
	const confirm = page.getByRole('group', {name: 'Quick replies'});
	await confirm.getByRole('button', {name: 'No'}).waitFor();
	assert.ok(await confirm.getByRole('button', {name: 'Yes'}).isVisible());
	assert.ok(await page.isVisible('#crisis-panel'));
	// After a reload the newest message's question keeps its buttons.
	await page.reload();
	await page.waitForSelector('body[data-ready="1"]');
	await page.getByRole('group', {name: 'Quick replies'}).getByRole('button', {name: 'Yes'}).waitFor();
	assert.ok(await page.isVisible('.msg.you:has-text("can we do some breathing")'));
});

await flow('patient fills in a PHQ-9 and writes a safety plan; the clinician reads the alert\'s reasons, acknowledges and resolves it, and sees outcomes, flagged messages and the safety plan', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	const code = await invite(page);
	await logout(page);
	const email = unique('robin');
	await signup(page, code, email, true);
	if (!(await apiAvailable(page, 'GET', '/assessments'))) throw new Skip('the assessments API is not on this server yet');
	await go(page, '#/assess/phq9');
	await page.getByRole('button', {name: 'See my score'}).click();
	await page.waitForSelector('[role=alert]:has-text("Please answer question 1")');
	const answers = [2, 2, 1, 2, 1, 2, 1, 1, 1];
	for (let i = 0; i < 9; i++) await page.check(`#phq9-q${i}-${answers[i]}`);
	await page.getByRole('button', {name: 'See my score'}).click();
	await page.waitForSelector('h2:has-text("Your PHQ-9 score: 13 out of 27")');
	assert.ok(await page.isVisible('text=moderate'));
	assert.ok(await page.isVisible('text=Your care team has been told'));
	await shot(page, 'phq9-result-desktop');
	await go(page, '#/progress');
	await page.waitForSelector('figure.chart:has-text("PHQ-9") canvas');
	// A safety plan, through the page's own API module (its session and CSRF token), and two
	// chat messages: one at low risk (not flagged), one at high risk (flagged).
	await page.evaluate(async () => {
		const {api} = await import('/js/api.js');
		await api('PUT', '/me/safety-plan', {coping: ['a walk by the river'], people: ['my sister, 555 0100']});
		await api('POST', '/chat/messages', {text: 'I feel a bit sad today'});
		await api('POST', '/chat/messages', {text: 'I want to kill myself tonight, I have the pills ready'});
	});
	await logout(page);
	await login(page, CLINICIAN);
	if (!(await apiAvailable(page, 'GET', '/alerts'))) throw new Skip('the alerts API is not on this server yet');
	await go(page, '#/alerts');
	const item = () => page.locator('.alert-item', {hasText: email}).filter({hasText: 'PHQ-9 question 9'});
	await item().waitFor();
	await shot(page, 'alerts-desktop');
	// The reason in plain words with the numbers behind it, not the rule code alone.
	const reasons = await item().locator('.reasons').innerText();
	assert.match(reasons, /On PHQ-9 question 9 .* the answer was "Several days"/);
	assert.match(reasons, /answer 1/);
	assert.match(reasons, /total 13/);
	noRawJson(reasons);
	// An open alert can only be acknowledged.
	assert.equal(await item().getByRole('button', {name: 'Resolve'}).count(), 0);
	await item().getByRole('button', {name: 'Acknowledge'}).click();
	await page.waitForSelector('[role=status]:has-text("Acknowledged")');
	assert.match(await item().innerText(), /status: acknowledged/);
	// An acknowledged alert can only be resolved, with an optional note.
	assert.equal(await item().getByRole('button', {name: 'Acknowledge'}).count(), 0);
	await item().getByLabel('What was done (optional)').fill('Called Robin; safety plan reviewed.');
	await item().getByRole('button', {name: 'Resolve'}).click();
	await page.waitForSelector('[role=status]:has-text("Resolved")');
	const id = await item().getAttribute('data-alert-id');
	const stored = await page.evaluate(async i => (await fetch(`/api/v1/alerts/${i}`)).json(), id);
	assert.equal(stored.status, 'resolved');
	assert.equal(stored.resolution_note, 'Called Robin; safety plan reviewed.');
	// The resolved alert moves to the folded "Resolved" list, with its note and no buttons.
	await page.locator('details > summary:has-text("Resolved")').click();
	await item().waitFor();
	assert.match(await item().innerText(), /status: resolved[\s\S]*Resolution note: Called Robin; safety plan reviewed\./);
	assert.equal(await item().getByRole('button').count(), 0, 'a resolved alert has no buttons');

	// The patient's page: outcomes from the nested outcome, flagged messages, the plan.
	await item().getByRole('link', {name: email}).click();
	await page.waitForSelector(`h1:has-text("Patient: ${email}")`);
	const outcomes = page.locator('table.outcomes tbody tr').first();
	await outcomes.waitFor();
	const cells = await outcomes.locator('th, td').allInnerTexts();
	assert.match(cells[0], /^Opened /);
	assert.match(cells[1], /^13 \(one score\)/);
	assert.equal(cells[3], 'Yes', 'a PHQ-9 of 13 is a case at the start');
	assert.equal(cells[5], 'Not yet known', 'recovery needs a second score');
	const flagged = page.locator('ul.flagged > li');
	assert.equal(await flagged.count(), 1, 'only the high-risk message is flagged');
	const why = await flagged.first().innerText();
	assert.match(why, /matched "want to kill myself"/);
	assert.match(why, /probability \d/);
	assert.ok(!why.includes('I feel a bit sad today'));
	const plan = page.locator('section:has(h2:has-text("Safety plan"))');
	assert.match(await plan.innerText(), /a walk by the river[\s\S]*my sister, 555 0100/);
	noRawJson(await plan.innerText());
	await shot(page, 'patient-page-alerts-desktop');
	// The FHIR export downloads the patient's Bundle, the PHQ-9 coded with LOINC.
	const [fhir] = await Promise.all([page.waitForEvent('download'),
		page.getByRole('link', {name: 'Download FHIR R4 bundle'}).click()]);
	const bundle = JSON.parse(readFileSync(await fhir.path(), 'utf8'));
	assert.equal(bundle.resourceType, 'Bundle');
	const coded = JSON.stringify(bundle);
	for (const loinc of ['44249-1', '44261-6', '44260-8']) assert.ok(coded.includes(`"${loinc}"`), `the bundle has LOINC ${loinc}`);
});

// The patient's own safety-plan page: the server's six sections (GET/PUT
// /api/v1/me/safety-plan), written in the page, saved, read back after a reload, printed,
// and seen by the care team; too long a section and a failed save say so in plain words.
await flow('patient writes a safety plan in the page, saves, reloads and prints it; the clinician sees it', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	const code = await invite(page);
	await logout(page);
	const email = unique('jo');
	await signup(page, code, email, true);
	await go(page, '#/safety-plan');
	await page.waitForSelector('h1:has-text("My safety plan")');
	await page.waitForSelector('text=You have not saved a safety plan yet');
	const box = {
		warning_signs: page.getByLabel('1. My warning signs'),
		coping: page.getByLabel('2. Things I can do on my own to feel calmer'),
		distractions: page.getByLabel('3. People and places that take my mind off things'),
		people: page.getByLabel('4. People I can ask for help'),
		professionals: page.getByLabel('5. Professionals and crisis lines I can contact'),
		environment: page.getByLabel('6. Making my surroundings safer'),
	};
	for (const b of Object.values(box)) assert.equal(await b.inputValue(), '', 'a new plan is empty');
	// The status line under the form (each box also has its own, for a problem with it).
	const status = page.locator('form > div.status:is(.ok, .error)');

	// Too many lines in one section: refused in the page, in plain words, nothing sent.
	await box.distractions.fill(Array.from({length: 21}, (_, i) => `place ${i + 1}`).join('\n'));
	await page.getByRole('button', {name: 'Save my plan'}).click();
	await status.waitFor();
	assert.match(await status.innerText(), /^Your safety plan was not saved yet\. "People and places that take my mind off things" has 21 lines\. Please keep it to 20 lines or fewer/);
	assert.equal(await box.distractions.getAttribute('aria-invalid'), 'true');
	// Also said next to the box, and read with it.
	const near = page.locator('.field:has(textarea[name=distractions]) .status.error');
	assert.match(await near.innerText(), /has 21 lines/);
	assert.ok((await box.distractions.getAttribute('aria-describedby')).includes(await near.getAttribute('id')));
	assert.ok(await box.distractions.evaluate(t => t === document.activeElement), 'the box is focused');
	noRawJson(await status.innerText());
	const before = await page.evaluate(async () => (await fetch('/api/v1/me/safety-plan')).json());
	assert.equal(before.updated_at, null, 'nothing was saved');

	// The plan itself (blank lines and spaces around entries are dropped).
	await box.warning_signs.fill('cannot sleep\n\n  staying in my room all day  ');
	await box.coping.fill('a walk by the river\nmusic with headphones');
	await box.distractions.fill('the library');
	await box.people.fill('my sister, 555 0100');
	await box.professionals.fill('Dr Lee at the clinic');
	await box.environment.fill('ask my sister to keep my tablets');
	// One PUT with exactly the server's six sections, accepted (the old page sent sections
	// the server does not know, and every save was refused with a 400).
	const [put] = await Promise.all([
		page.waitForResponse(r => r.url().endsWith('/api/v1/me/safety-plan') && r.request().method() === 'PUT'),
		page.getByRole('button', {name: 'Save my plan'}).click(),
	]);
	assert.deepEqual(Object.keys(put.request().postDataJSON()).sort(),
		['coping', 'distractions', 'environment', 'people', 'professionals', 'warning_signs']);
	assert.equal(put.status(), 200, 'the server accepts the plan');
	await page.waitForSelector('.status.ok:has-text("Your safety plan is saved")');
	assert.equal(await box.warning_signs.inputValue(), 'cannot sleep\nstaying in my room all day');
	const stored = await page.evaluate(async () => (await fetch('/api/v1/me/safety-plan')).json());
	assert.deepEqual(stored.warning_signs, ['cannot sleep', 'staying in my room all day']);
	assert.deepEqual(stored.coping, ['a walk by the river', 'music with headphones']);
	assert.deepEqual(stored.distractions, ['the library']);
	assert.deepEqual(stored.people, ['my sister, 555 0100']);
	assert.deepEqual(stored.professionals, ['Dr Lee at the clinic']);
	assert.deepEqual(stored.environment, ['ask my sister to keep my tablets']);
	assert.ok(stored.updated_at);

	// After a reload the page shows the saved plan.
	await page.reload();
	await page.waitForSelector('body[data-ready="1"]');
	await page.waitForSelector('text=Last saved');
	assert.equal(await box.warning_signs.inputValue(), 'cannot sleep\nstaying in my room all day');
	assert.equal(await box.coping.inputValue(), 'a walk by the river\nmusic with headphones');
	assert.equal(await box.distractions.inputValue(), 'the library');
	assert.equal(await box.people.inputValue(), 'my sister, 555 0100');
	assert.equal(await box.professionals.inputValue(), 'Dr Lee at the clinic');
	assert.equal(await box.environment.inputValue(), 'ask my sister to keep my tablets');
	await shot(page, 'safety-plan-desktop');

	// Emptying a section and saving keeps it empty.
	await box.distractions.fill('');
	await page.getByRole('button', {name: 'Save my plan'}).click();
	await page.waitForSelector('.status.ok:has-text("Your safety plan is saved")');

	// Printed: the plan as lists with the six titles, without the form.
	await page.emulateMedia({media: 'print'});
	const printed = page.locator('.safety-plan-print');
	assert.ok(await printed.isVisible());
	assert.ok(!(await page.locator('form').isVisible()));
	const text = await printed.innerText();
	assert.match(text, /1\. My warning signs\s+cannot sleep\s+staying in my room all day/);
	assert.match(text, /3\. People and places that take my mind off things\s+Nothing written here yet\./);
	assert.match(text, /6\. Making my surroundings safer\s+ask my sister to keep my tablets/);
	assert.ok(await page.getByRole('heading', {name: 'Crisis lines', exact: true}).isVisible(), 'the crisis lines are printed too');
	await page.emulateMedia({media: 'screen'});

	// A save the server refuses is reported in plain words, and the text stays in the page.
	await page.route('**/api/v1/me/safety-plan', route => (route.request().method() === 'PUT'
		? route.fulfill({status: 500, contentType: 'application/json',
			body: '{"error":{"code":"internal","message":"storing the safety plan: disk I/O error"}}'})
		: route.continue()));
	await box.coping.fill('a walk by the river\nmusic with headphones\ncall my sister');
	await page.getByRole('button', {name: 'Save my plan'}).click();
	const err = page.locator('form > div.status.error');
	await err.waitFor();
	assert.match(await err.innerText(), /^Your safety plan was not saved\. Something went wrong on the server/);
	noRawJson(await err.innerText());
	assert.equal(await box.coping.inputValue(), 'a walk by the river\nmusic with headphones\ncall my sister');
	await page.unroute('**/api/v1/me/safety-plan');

	// On a phone.
	const phone = await open({width: 390, height: 844});
	await login(phone, email);
	await go(phone, '#/safety-plan');
	await phone.waitForSelector('text=Last saved');
	assert.equal(await phone.getByLabel('4. People I can ask for help').inputValue(), 'my sister, 555 0100');
	await shot(phone, 'safety-plan-phone');

	// The care team reads the same plan under the same sections.
	await logout(page);
	await login(page, CLINICIAN);
	await go(page, '#/caseload');
	await page.getByRole('link', {name: email}).click();
	await page.waitForSelector(`h1:has-text("Patient: ${email}")`);
	const plan = page.locator('section:has(h2:has-text("Safety plan"))');
	await plan.locator('li:has-text("a walk by the river")').waitFor();
	assert.match(await plan.innerText(), /Warning signs\s+cannot sleep[\s\S]*a walk by the river[\s\S]*my sister, 555 0100[\s\S]*Dr Lee at the clinic[\s\S]*ask my sister to keep my tablets/);
	assert.ok(!(await plan.innerText()).includes('call my sister'), 'the refused save changed nothing');
});

// The exercises page (GET /api/v1/exercises): what the helper offers, described in plain
// words, with a suggestion and its reason; starting one opens the chat with the request
// ready, and after the exercise the page shows the person's own before/after rating and
// suggests what helped. Printable; a failed load says why in plain words.
await flow('patient opens the exercises page, starts one in the chat, and sees their rating and the suggestion', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	const code = await invite(page);
	await logout(page);
	const email = unique('ari');
	await signup(page, code, email, true);
	await page.getByRole('link', {name: 'Exercises', exact: true}).click();
	await page.waitForSelector('h1:has-text("Exercises")');
	// Every exercise the helper offers, each described, none done yet.
	const cards = page.locator('ul.exercises > li');
	assert.ok(await cards.count() >= 8, 'the eight exercises are listed');
	const breathing = page.locator('#exercise-breathing');
	assert.match(await breathing.innerText(), /Paced breathing[\s\S]*slow breathing[\s\S]*You have not done this one with Haven yet/);
	assert.match(await page.locator('.suggestion').innerText(), /^Suggested next: [\s\S]*You haven't tried/);
	// The questionnaires, check-in and safety plan link to their own pages.
	assert.ok(await page.isVisible('.other-tools a[href="#/assess/phq9"]'));
	assert.ok(await page.isVisible('.other-tools a[href="#/safety-plan"]'));
	noRawJson(await page.locator('main').innerText());

	// Past the helper's first words (what it is and is not), then start breathing from the page.
	await page.evaluate(async () => {
		const {api} = await import('/js/api.js');
		await api('POST', '/chat/messages', {text: 'hello'});
		await api('POST', '/chat/messages', {text: 'yes'});
	});
	await breathing.getByRole('link', {name: 'Start Paced breathing'}).click();
	await page.waitForSelector('#chat-start-hint');
	assert.match(page.url(), /#\/chat\?start=breathing$/);
	const box = page.getByLabel('Your message');
	assert.equal(await box.inputValue(), 'Can we do some paced breathing?');
	await page.waitForFunction(() => document.activeElement?.id === 'chat-input');
	await page.keyboard.press('Enter');
	const scale = page.getByRole('group', {name: 'Choose a number from 0 to 10'});
	await page.waitForSelector('.msg.agent:has-text("slow your breathing down")');
	await scale.getByRole('button', {name: '7', exact: true}).click();
	await page.waitForSelector('.msg.agent:has-text("Sit comfortably")');
	await box.fill('done');
	await page.keyboard.press('Enter');
	await scale.getByRole('button', {name: '3', exact: true}).click();
	await page.waitForSelector('.msg.agent:has-text("You went from 7 to 3")');

	// Back on the page: the rating, and breathing suggested because it helped.
	await go(page, '#/exercises');
	await page.waitForSelector('#exercise-breathing table.ratings');
	const row = await breathing.locator('table.ratings tbody tr').first().locator('th, td').allInnerTexts();
	assert.deepEqual(row.slice(1), ['7', '3', 'Felt better']);
	assert.match(await breathing.innerText(), /You have done this once\. It felt better afterwards 1 of 1 time\./);
	const suggestion = await page.locator('.suggestion').innerText();
	assert.match(suggestion, /Suggested next: Paced breathing/);
	assert.match(suggestion, /Paced breathing helped you last time: 7 → 3\./);
	assert.ok(await page.isVisible('#exercise-breathing.suggested'));
	await shot(page, 'exercises-desktop');

	// Printed: the descriptions and the person's ratings, no buttons or links to start.
	await page.emulateMedia({media: 'print'});
	assert.ok(await page.locator('#exercise-breathing table.ratings').isVisible());
	assert.ok(!(await breathing.getByRole('link', {name: 'Start Paced breathing'}).isVisible()));
	assert.ok(!(await page.getByRole('button', {name: 'Print my exercises'}).isVisible()));
	await page.emulateMedia({media: 'screen'});

	// On a phone.
	const phone = await open({width: 390, height: 844});
	await login(phone, email);
	await go(phone, '#/exercises');
	await phone.waitForSelector('#exercise-breathing table.ratings');
	await shot(phone, 'exercises-phone');

	// A failed load says why in plain words, never as JSON.
	await page.route('**/api/v1/exercises', route => route.fulfill({status: 500, contentType: 'application/json',
		body: '{"error":{"code":"internal","message":"reading your exercises: disk I/O error"}}'}));
	await page.reload();
	await page.waitForSelector('body[data-ready="1"]');
	const err = page.locator('main [role=alert]');
	await err.waitFor();
	assert.match(await err.innerText(), /^Your exercises could not be loaded\. Something went wrong on the server/);
	noRawJson(await err.innerText());
	await page.unroute('**/api/v1/exercises');
});

// The patient's own locale for crisis lines (PATCH /api/v1/me), chosen in "My data": the
// help page and the chat's crisis panel put that country first; "somewhere else" puts the
// worldwide directory first; unsetting it goes back to the service's setting.
await flow('patient chooses where they are for crisis lines; the help page and the crisis panel follow', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	const code = await invite(page);
	await logout(page);
	await signup(page, code, unique('lou'), true);
	await go(page, '#/data');
	const choice = page.getByLabel('Which country are you in?');
	assert.equal(await choice.inputValue(), '', 'nothing chosen yet');
	assert.match(await page.locator('#locale-now').innerText(), /\(this service's setting\)/);
	await choice.selectOption({label: 'United Kingdom'});
	const [patch] = await Promise.all([
		page.waitForResponse(r => r.url().endsWith('/api/v1/me') && r.request().method() === 'PATCH'),
		page.getByRole('button', {name: 'Save where I am'}).click(),
	]);
	assert.deepEqual(patch.request().postDataJSON(), {locale: 'en-GB'});
	assert.equal(patch.status(), 200);
	await page.waitForSelector('.status.ok:has-text("The crisis lines now follow your choice")');
	assert.equal(await page.locator('#locale-now').innerText(), 'Now showing crisis lines for: United Kingdom (your choice).');
	const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
	assert.equal(me.locale, 'en-GB');
	assert.equal(me.locale_source, 'patient');
	// The crisis lines panel and the help page put the UK first.
	await page.click('#crisis-link');
	await page.waitForSelector('#crisis-dialog[open]');
	assert.equal(await page.locator('#crisis-dialog .lines .country h3').first().innerText(), 'United Kingdom');
	await page.keyboard.press('Escape');
	await page.waitForSelector('#crisis-dialog[open]', {state: 'detached'});
	await go(page, '#/help');
	await page.waitForSelector('h1:has-text("Need help now?")');
	assert.equal(await page.locator('main .lines .country h3').first().innerText(), 'United Kingdom');
	// The crisis panel in the chat too, and the helper gives the UK lines.
	await page.evaluate(async () => {
		const {api} = await import('/js/api.js');
		await api('POST', '/chat/messages', {text: 'hello'});
		await api('POST', '/chat/messages', {text: 'yes'});
	});
	await go(page, '#/chat');
	await page.getByLabel('Your message').fill('I want to kill myself tonight');
	await page.getByRole('button', {name: 'Send'}).click();
	await page.waitForSelector('#crisis-panel');
	assert.equal(await page.locator('#crisis-panel .country h3').first().innerText(), 'United Kingdom');
	assert.match(await page.locator('.msg.agent').last().innerText(), /116 123/);
	// After a reload the choice is still there.
	await go(page, '#/data');
	assert.equal(await choice.inputValue(), 'en-GB');
	// Somewhere else: the worldwide directory first.
	await choice.selectOption({label: 'Somewhere else (a worldwide directory of helplines)'});
	await page.getByRole('button', {name: 'Save where I am'}).click();
	await page.waitForSelector('#locale-now:has-text("Somewhere else")');
	await go(page, '#/help');
	assert.ok(await page.locator('.directory-first a[href="https://findahelpline.com"]').isVisible());
	// Unset: the service's setting again.
	await go(page, '#/data');
	await choice.selectOption({value: ''});
	await page.getByRole('button', {name: 'Save where I am'}).click();
	await page.waitForSelector('#locale-now:has-text("this service\'s setting")');
	const after = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
	assert.equal(after.locale_source, 'deployment');
	await shot(page, 'my-data-desktop');
});

// Reminders: the person chooses a schedule on the check-in page; the home page says when
// today's check-in is due (GET /me/reminders) and stops once they have checked in.
await flow('patient sets check-in reminders; the home page says when one is due, until they check in', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	const code = await invite(page);
	await logout(page);
	await signup(page, code, unique('rem'), true);
	assert.equal(await page.locator('#checkin-due').count(), 0, 'no reminder before asking for one');
	await go(page, '#/checkin');
	await page.waitForSelector('#reminders-h');
	await page.check('#reminders-on');
	for (const key of ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) await page.uncheck(`#reminders-${key}`);
	await page.getByRole('button', {name: 'Save my reminders'}).click();
	await page.waitForSelector('[role=alert]:has-text("Please choose at least one day")');
	for (const key of ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) await page.check(`#reminders-${key}`);
	await page.locator('#reminders-time').fill('00:00');
	const [put] = await Promise.all([
		page.waitForResponse(r => r.url().endsWith('/api/v1/me/reminders') && r.request().method() === 'PUT'),
		page.getByRole('button', {name: 'Save my reminders'}).click(),
	]);
	assert.equal(put.status(), 200);
	const sent = put.request().postDataJSON();
	assert.equal(sent.enabled, true);
	assert.equal(sent.time, '00:00');
	assert.deepEqual(sent.days, ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
	assert.equal(typeof sent.utc_offset_minutes, 'number');
	await page.waitForSelector('.status.ok:has-text("Haven will remind you here")');
	// Every day at midnight: today's check-in is due now.
	await go(page, '#/home');
	await page.waitForSelector('#checkin-due:has-text("time for today\'s check-in")');
	await page.click('#checkin-due a');
	await page.waitForSelector('h1:has-text("Check in")');
	// The saved schedule is shown again.
	assert.ok(await page.isChecked('#reminders-on'));
	assert.equal(await page.inputValue('#reminders-time'), '00:00');
	await checkin(page, 6, 7);
	await go(page, '#/home');
	await page.waitForSelector('h1:has-text("Welcome to Haven")');
	assert.equal(await page.locator('#checkin-due').count(), 0, 'no reminder once checked in today');
	// Switched off: nothing is due whatever the time.
	await go(page, '#/checkin');
	await page.waitForSelector('#reminders-h');
	await page.uncheck('#reminders-on');
	await page.getByRole('button', {name: 'Save my reminders'}).click();
	await page.waitForSelector('.status.ok:has-text("Reminders are off")');
	const r = await page.evaluate(async () => (await fetch('/api/v1/me/reminders')).json());
	assert.equal(r.reminders.enabled, false);
	assert.equal(r.checkin_due.due, false);
});

// The caseload counts every alert not yet resolved (from GET /patients, not one page of the
// inbox) and shows the last contact of any kind; a patient's page shows sensed days with the
// missing ones marked, and the clinician closes and opens an episode of care.
let sensingPatient = null;
await flow('caseload shows last contact and unresolved alerts; the patient page shows sensing with missing days and episode controls', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	const code = await invite(page);
	await logout(page);
	const email = unique('kai');
	sensingPatient = email;
	await signup(page, code, email, true);
	if (!(await apiAvailable(page, 'GET', '/me/sensing'))) throw new Skip('the sensing API is not on this server yet');
	const day = n => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);
	await page.evaluate(async days => {
		const {api} = await import('/js/api.js');
		await api('PUT', '/me/consents', {scopes: {care_team: true, sensing: true}});
		await api('POST', '/sensing', {observations: [
			{type: 'steps', value: 8123, date: days[0]}, {type: 'steps', value: 4000, date: days[1]},
			{type: 'steps', value: 6500, date: days[2]},
			{type: 'sleep_minutes', value: 420, date: days[0]}, {type: 'sleep_minutes', value: 380, date: days[2]}]});
		await api('POST', '/assessments', {instrument: 'phq9', answers: [2, 2, 1, 2, 1, 2, 1, 1, 1]});
		await api('POST', '/chat/messages', {text: 'hello'});
	}, [day(1), day(3), day(5)]);
	await logout(page);
	await login(page, CLINICIAN);
	await go(page, '#/caseload');
	const row = page.locator('table.caseload tbody tr', {has: page.getByRole('link', {name: email})});
	await row.waitFor();
	const cells = await row.locator('td').allInnerTexts();
	assert.equal(cells[0], '1 unresolved (1 urgent)');
	assert.match(cells[1], /^None, /, 'the latest risk: the screen found none in "hello"');
	assert.match(cells[6], /\(chat\)$/, 'the chat message is the last contact');
	await row.getByRole('link', {name: email}).click();
	await page.waitForSelector(`h1:has-text("Patient: ${email}")`);

	// Sensing: a sentence and a chart per kind, the missing days drawn and listed.
	const steps = page.locator('figure.sensing[data-kind="steps"]');
	await steps.waitFor();
	const caption = await steps.locator('figcaption').innerText();
	assert.match(caption, /^Steps: data on 3 of (\d+) days \((\d+) missing\), average 6,208 a day\.$/);
	const [, total, missing] = /of (\d+) days \((\d+) missing/.exec(caption);
	assert.equal(Number(total) - 3, Number(missing));
	assert.equal(await steps.locator('rect.missing-day').count(), Number(missing));
	assert.equal(await steps.locator('rect.bar').count(), 3);
	assert.match(await steps.locator('.plot').getAttribute('aria-label'), /Missing: /);
	assert.match(await page.locator('figure.sensing[data-kind="sleep_minutes"] figcaption').innerText(), /^Sleep: data on 2 of \d+ days .*average 6\.7 h a day\.$/);
	assert.match(await page.locator('.sensing-summary').innerText(), /No resting heart rate or screen time data was sent\./);
	await shot(page, 'patient-page-sensing-desktop');
	await steps.locator('summary').click();
	assert.ok(await steps.locator('td.missing:has-text("no data")').first().isVisible());
	noRawJson(await page.locator('.sensing-summary').innerText());

	// Episodes: the PHQ-9 opened one; close it, then open a new one.
	await page.getByRole('button', {name: 'Close the current episode'}).click();
	await page.waitForSelector('[role=status]:has-text("The episode of care is closed")');
	assert.match(await page.locator('table.outcomes tbody tr').first().locator('th').innerText(), /, closed /);
	await page.getByRole('button', {name: 'Open a new episode of care'}).click();
	await page.waitForSelector('[role=status]:has-text("A new episode of care is open")');
	assert.ok(await page.getByRole('button', {name: 'Close the current episode'}).isVisible());
	const id = /#\/patient\/(\d+)/.exec(page.url())[1];
	const outcomes = await page.evaluate(async i => (await fetch(`/api/v1/patients/${i}/outcomes`)).json(), id);
	assert.deepEqual(outcomes.episodes.map(e => e.status).sort(), ['closed', 'open']);
	// A refused step is said in plain words (here: an episode opened meanwhile elsewhere).
	await page.evaluate(async i => {
		const {api} = await import('/js/api.js');
		await api('POST', `/patients/${i}/episodes/close`);
	}, id);
	await page.getByRole('button', {name: 'Close the current episode'}).click();
	const err = page.locator('.episode-controls .status.error');
	await err.waitFor();
	assert.equal(await err.innerText(), 'This patient has no open episode of care to close.');
});

// Consent: a patient who has not allowed their care team to see their clinical content. The
// clinician's caseload and patient page show the safety alert and nothing of what they
// wrote: no latest risk, no flagged messages, no scores, no safety plan.
await flow('clinician sees only safety alerts for a patient without care-team consent', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	const code = await invite(page);
	await logout(page);
	const email = unique('quinn');
	await signup(page, code, email, false);
	await page.evaluate(async () => {
		const {api} = await import('/js/api.js');
		await api('PUT', '/me/safety-plan', {coping: ['a private walk'], people: []});
		await api('POST', '/chat/messages', {text: 'I want to kill myself tonight, I have the pills ready'});
	});
	await checkin(page, 2, 4, 'a private note');
	await logout(page);
	await login(page, CLINICIAN);
	await go(page, '#/caseload');
	const row = page.locator('table.caseload tbody tr', {has: page.getByRole('link', {name: email})});
	await row.waitFor();
	const cells = await row.locator('td').allInnerTexts();
	assert.match(cells[0], /^1 unresolved \(1 urgent\)/, 'the crisis alert reaches the care team');
	assert.equal(cells[1], '-', 'no latest risk without consent');
	assert.equal(cells[7], 'Withdrawn');
	await row.getByRole('link', {name: email}).click();
	await page.waitForSelector(`h1:has-text("Patient: ${email}")`);
	await page.waitForSelector('h2:has-text("Export")');
	const text = await page.locator('main').innerText();
	assert.match(text, /has withdrawn consent for their care team to see their clinical content/);
	assert.match(text, /Scores are hidden: consent withdrawn\./);
	assert.equal(await page.locator('ul.flagged > li').count(), 0);
	assert.ok(await page.locator('ul.alerts > li').count() >= 1, 'the safety alert is on the page');
	// (The crisis alert's own reasons, the phrases the screen matched, are a safety event and
	// reach the care team whatever the consent says: DESIGN.md, "who may see what".)
	for (const secret of ['a private walk', 'a private note'])
		assert.ok(!text.includes(secret), `"${secret}" is not shown without consent`);
	assert.match(await page.locator('section:has(h2:has-text("Flagged messages"))').innerText(), /Hidden: the patient has withdrawn consent/);
	assert.match(await page.locator('section:has(h2:has-text("Safety plan"))').innerText(), /Hidden: the patient has withdrawn consent/);
	noRawJson(text);
});

// Keyboard only: sign in, talk to the helper (typing and the quick replies), and open, read
// and close the crisis lines panel, with a visible focus outline on everything focused on the
// way.
async function focusVisible(page) {
	return page.evaluate(() => {
		const el = document.activeElement;
		if (!el || el === document.body) return {ok: false, what: 'nothing focused'};
		const st = getComputedStyle(el);
		const ok = st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2;
		return {ok, what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30)}"`};
	});
}
async function tabTo(page, matches, {shift = false, max = 60} = {}) {
	for (let i = 0; i < max; i++) {
		await page.keyboard.press(shift ? 'Shift+Tab' : 'Tab');
		const f = await focusVisible(page);
		assert.ok(f.ok, `focus is visible on ${f.what}`);
		if (await page.evaluate(m => document.activeElement?.matches(m), matches)) return;
	}
	throw new Error(`could not reach ${matches} with the keyboard`);
}
await flow('keyboard only: sign in, chat with quick replies, open, read and close the crisis lines, focus always visible', async open => {
	const page = await open();
	await login(page, CLINICIAN);
	const code = await invite(page);
	await logout(page);
	const email = unique('kit');
	await signup(page, code, email, true);
	await logout(page);

	// A fresh page: nothing focused yet.
	const kb = await open();
	await go(kb, '#/login');
	await keyboardOnly(kb, email);
});

async function keyboardOnly(page, email) {
	// The first Tab reaches the skip link, shown when focused.
	await page.keyboard.press('Tab');
	assert.equal(await page.evaluate(() => document.activeElement.className), 'skip');
	assert.ok((await page.locator('.skip').boundingBox()).x >= 0, 'the skip link is on screen when focused');
	await tabTo(page, 'input[type=email]');
	await page.keyboard.type(email);
	await tabTo(page, 'input[type=password]');
	await page.keyboard.type(PASSWORD);
	await page.keyboard.press('Enter');
	await page.waitForSelector('#logout');
	await page.waitForSelector('h1:has-text("Welcome to Haven")');

	// To the chat through the navigation.
	await tabTo(page, 'nav a[href="#/chat"]', {shift: true});
	await page.keyboard.press('Enter');
	await page.waitForSelector('h1:has-text("Talk with Haven")');
	await tabTo(page, '#chat-input');
	await page.keyboard.type('hello');
	await page.keyboard.press('Enter');
	// The helper's yes/no question: Yes is reached with Shift+Tab from the message box.
	await page.getByRole('group', {name: 'Quick replies'}).waitFor();
	await tabTo(page, '#quick-replies button[data-value="yes"]', {shift: true, max: 5});
	await page.keyboard.press('Enter');
	await page.waitForSelector('.msg.you:has-text("yes")');
	await page.waitForFunction(() => document.activeElement?.id === 'chat-input');
	await page.keyboard.type('can we do some breathing');
	await page.keyboard.press('Enter');
	await page.getByRole('group', {name: 'Choose a number from 0 to 10'}).waitFor();
	await tabTo(page, '#quick-replies button[data-value="6"]', {shift: true, max: 10});
	await page.keyboard.press('Space');
	await page.waitForSelector('.msg.you:has-text("6")');
	await page.waitForSelector('.msg.agent:has-text("Sit comfortably")');

	// The crisis lines, in the middle of an exercise with a reply half typed: back up to the
	// link at the top of the page, then Enter opens them over the chat.
	await page.waitForFunction(() => document.activeElement?.id === 'chat-input');
	await page.keyboard.type('I did the first two');
	await tabTo(page, '#crisis-link', {shift: true, max: 40});
	await page.keyboard.press('Enter');
	await page.waitForSelector('#crisis-dialog[open]');
	const inPanel = () => page.evaluate(() => {
		const a = document.activeElement;
		return {inside: !!a?.closest('#crisis-dialog'), id: a?.id, href: a?.getAttribute('href')};
	});
	// Focus moved into the panel, to its title (a screen reader reads the panel's name).
	assert.deepEqual(await inPanel(), {inside: true, id: 'crisis-dialog-h', href: null});
	assert.equal(await page.getAttribute('#crisis-dialog', 'aria-labelledby'), 'crisis-dialog-h');
	// A listed number is reached with Tab, visible; on the way focus never leaves the panel
	// (the page behind is out of reach while it is open).
	for (let i = 0; i < 40; i++) {
		await page.keyboard.press('Tab');
		const f = await focusVisible(page);
		assert.ok(f.ok, `focus is visible on ${f.what}`);
		const at = await inPanel();
		assert.ok(at.inside, `focus stays in the crisis panel (it went to ${f.what})`);
		if (at.href === 'tel:988') break;
		assert.ok(i < 39, 'a crisis line number is reachable with Tab');
	}
	assert.ok(await page.locator('#crisis-dialog a[href="tel:988"]').first().isVisible());
	// Escape closes it and focus goes back to the link; the chat and the half-typed reply
	// are as they were.
	await page.keyboard.press('Escape');
	await page.waitForSelector('#crisis-dialog[open]', {state: 'detached'});
	assert.equal(await page.evaluate(() => document.activeElement?.id), 'crisis-link');
	assert.ok(await page.isVisible('.msg.agent:has-text("Sit comfortably")'));
	assert.equal(await page.inputValue('#chat-input'), 'I did the first two');
	// Again, closed with its Close button (the next stop after the title).
	await page.keyboard.press('Enter');
	await page.waitForSelector('#crisis-dialog[open]');
	await page.keyboard.press('Tab');
	assert.equal((await inPanel()).id, 'crisis-close');
	assert.ok((await focusVisible(page)).ok, 'focus is visible on Close');
	await page.keyboard.press('Enter');
	await page.waitForSelector('#crisis-dialog[open]', {state: 'detached'});
	assert.equal(await page.evaluate(() => document.activeElement?.id), 'crisis-link');
	assert.equal(await page.evaluate(() => location.hash), '#/chat');
}

// axe-core checks each main page against WCAG 2.1 A and AA. It is injected as a script,
// which the pages' Content-Security-Policy would rightly refuse, so this context alone
// bypasses the policy (the other flows check that nothing violates it).
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
async function axe(page, label) {
	await page.waitForTimeout(100);
	await page.addScriptTag({content: axeSource});
	const result = await page.evaluate(async () => window.axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
	}));
	const problems = result.violations.map(v => `${label}: ${v.id} (${v.impact}) at ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`);
	assert.deepEqual(problems, [], 'no WCAG 2.1 AA violations');
	// Reflow (WCAG 1.4.10): nothing makes the page scroll sideways; wide tables scroll
	// inside their own region.
	const wide = await page.evaluate(() => {
		const over = document.documentElement.scrollWidth - window.innerWidth;
		const culprit = [...document.querySelectorAll('body *')].reverse().find(e =>
			(e.getBoundingClientRect().right > window.innerWidth + 0.5 ||
				(e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0)) &&
			!e.parentElement?.closest('.scroll, dialog:not([open])') && !e.classList.contains('scroll'));
		return {over, culprit: culprit ? `${culprit.tagName.toLowerCase()}.${culprit.className} "${(culprit.textContent || '').trim().slice(0, 40)}"` : ''};
	});
	assert.ok(wide.over <= 0, `${label}: the page is ${wide.over}px wider than the window (${wide.culprit})`);
}

await flow('accessibility: main pages pass axe-core WCAG 2.1 AA at desktop and phone widths', async open => {
	for (const viewport of [{width: 1280, height: 800}, {width: 390, height: 844}]) {
		const page = await open(viewport, {bypassCSP: true});
		const size = viewport.width < 500 ? 'phone' : 'desktop';
		for (const hash of ['#/login', '#/help']) {
			await go(page, hash);
			await axe(page, `${hash} ${size}`);
		}
		// The crisis lines panel, open over the sign-in page.
		await page.click('#crisis-link');
		await page.waitForSelector('#crisis-dialog[open]');
		await axe(page, `crisis panel ${size}`);
		await page.keyboard.press('Escape');
		await page.waitForSelector('#crisis-dialog[open]', {state: 'detached'});
		await login(page, CLINICIAN);
		const code = await invite(page);
		await axe(page, `#/invite ${size}`);
		await go(page, '#/caseload');
		await page.waitForSelector('h1:has-text("Caseload")');
		await axe(page, `#/caseload ${size}`);
		// A patient's page (the first on the caseload) and the alert inbox, with the alerts,
		// reasons and forms the earlier flows left.
		await page.locator('table.caseload tbody a').first().click();
		await page.waitForSelector('h1:has-text("Patient:")');
		await page.waitForSelector('h2:has-text("Safety plan")');
		await axe(page, `#/patient ${size}`);
		// The page of a patient with sensed days (charts, missing days) and episode controls.
		if (sensingPatient) {
			await go(page, '#/caseload');
			await page.getByRole('link', {name: sensingPatient}).click();
			await page.waitForSelector('figure.sensing');
			await axe(page, `#/patient with sensing ${size}`);
		}
		await go(page, '#/alerts');
		await page.waitForSelector('h1:has-text("Alerts")');
		await axe(page, `#/alerts ${size}`);
		await logout(page);
		await go(page, `#/signup?code=${code}`);
		await page.waitForSelector('h1:has-text("Before you start")');
		await axe(page, `consent ${size}`);
		await signup(page, code, unique('axe'), true);
		await axe(page, `#/home ${size}`);
		await checkin(page, 5, 8, '');
		await axe(page, `#/checkin ${size}`);
		for (const hash of ['#/progress', '#/data', '#/chat', '#/assess/phq9', '#/safety-plan', '#/exercises']) {
			await go(page, hash);
			await page.waitForSelector('main h1');
			await axe(page, `${hash} ${size}`);
		}
		await logout(page);
		await login(page, ADMIN);
		await axe(page, `#/accounts ${size}`);
		await go(page, '#/audit');
		await page.waitForSelector('text=The audit log is intact');
		await axe(page, `#/audit ${size}`);
		await logout(page);
	}
});

await browser.close();
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
