// @ts-check
// Register and log in (with the TOTP code when the account has two-factor login on).
import { api, clear, h, passwordHint } from '../lib.js';

// The API names why a login failed (`code`): only a correct password of an account with two-factor
// login on is asked for a code; every other failure is "wrong e-mail or password".
function loginFailure(error) {
  return (error.body && error.body.code) || '';
}

function field(label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hint ? h('div', { class: 'hint' }, hint) : null);
}

export function loginPage(ctx) {
  return {
    title: 'Log in',
    async render(root) {
      const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true });
      const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
      const totp = h('input', { id: 'totp', name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6 });
      const totpField = field('Two-factor code', totp, 'The 6-digit code from your authenticator app.');
      totpField.hidden = true;
      const message = h('div', { role: 'alert' });
      const submit = h('button', { type: 'submit' }, 'Log in');
      const form = h('form', { class: 'card', novalidate: true }, h('h1', {}, 'Log in to QARI'), message,
        field('E-mail', email), field('Password', password), totpField, submit,
        h('p', { class: 'small' }, 'New here? ', h('a', { href: '/app/register', 'data-link': true }, 'Create an account')));
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        submit.disabled = true;
        clear(message);
        const body = { email: email.value.trim(), password: password.value };
        if (!totpField.hidden && totp.value) body.totp_code = totp.value.trim();
        try {
          await api('POST', '/auth/login', body);
          await ctx.onLogin();
        } catch (e) {
          const why = loginFailure(e);
          if (why === 'totp_required') {
            totpField.hidden = false;
            totp.focus();
            message.append(h('div', { class: 'notice', id: 'login-totp-needed' }, 'Two-factor login is on for this account: enter the 6-digit code from your authenticator app.'));
          } else if (why === 'totp_invalid') {
            totp.value = '';
            totp.focus();
            message.append(h('div', { class: 'notice bad', id: 'login-totp-rejected' },
              'That two-factor code was not accepted. Enter the current 6-digit code from your authenticator app: codes change every 30 seconds and each works once.'));
          } else if (why === 'wrong_credentials') {
            totpField.hidden = true;
            totp.value = '';
            password.focus();
            message.append(h('div', { class: 'notice bad', id: 'login-wrong' }, 'Wrong e-mail or password.'));
          } else {
            message.append(h('div', { class: 'notice bad' }, e.message));
          }
        } finally { submit.disabled = false; }
      });
      clear(root, h('div', { class: 'auth' }, form));
      email.focus();
    },
  };
}

export function registerPage(ctx) {
  return {
    title: 'Create account',
    async render(root) {
      const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true });
      const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 12 });
      const message = h('div', { role: 'alert' });
      const submit = h('button', { type: 'submit' }, 'Create account');
      const form = h('form', { class: 'card', novalidate: true }, h('h1', {}, 'Create your QARI account'), message,
        field('E-mail', email), field('Password', password, await passwordHint()), h('p', { class: 'small muted' }, 'Your 3-month free trial starts today.'),
        submit, h('p', { class: 'small' }, 'Already registered? ', h('a', { href: '/app/login', 'data-link': true }, 'Log in')));
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        submit.disabled = true;
        clear(message);
        const body = { email: email.value.trim(), password: password.value };
        try {
          await api('POST', '/auth/register', body);
          await api('POST', '/auth/login', body);
          await ctx.onLogin();
        } catch (e) {
          message.append(h('div', { class: 'notice bad' }, e.message));
        } finally { submit.disabled = false; }
      });
      clear(root, h('div', { class: 'auth' }, form));
      email.focus();
    },
  };
}
