import { api } from './api.js';
import { apply, getLang, setLang, t } from './i18n.js';
import { langSwitch } from './ui.js';

apply(document);
const sel = langSwitch(setLang);
sel.value = getLang();
document.getElementById('lang-slot').append(sel);

const form = document.getElementById('signin');
const err = document.getElementById('signin-error');
form.addEventListener('submit', async ev => {
  ev.preventDefault();
  err.hidden = true;
  const btn = form.querySelector('button');
  btn.disabled = true;
  try {
    const me = await api('POST', '/login', { login: form.login.value, password: form.password.value });
    location.assign(me.home);
  } catch (e) {
    err.textContent = e.status === 429 ? t('signin.limited') : e.status === 401 ? t('signin.failed') : e.message;
    err.hidden = false;
    form.password.select();
  } finally {
    btn.disabled = false;
  }
});
