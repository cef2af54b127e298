// Texts in English and Simplified Chinese. The choice is remembered in localStorage; elements with data-i18n get their text from
// the dictionary (data-i18n-placeholder, data-i18n-title, data-i18n-aria-label likewise).

const dict = {
  en: {
    'app': 'Switchboard', 'signin.title': 'Sign in', 'signin.login': 'Login', 'signin.password': 'Password', 'signin.submit': 'Sign in',
    'signin.failed': 'Wrong login or password', 'signin.limited': 'Too many attempts — wait a moment',
    'signout': 'Sign out', 'close': 'Close', 'save': 'Save', 'cancel': 'Cancel', 'help': 'Keyboard shortcuts',
    'conn.open': 'Live', 'conn.connecting': 'Reconnecting…', 'conn.closed': 'Offline',
    'state.logged-out': 'Logged out', 'state.not-ready': 'Not ready', 'state.ready': 'Ready', 'state.reserved': 'Ringing',
    'state.on-call': 'On a call', 'state.wrap-up': 'Wrap-up',
    'btn.ready': 'Go ready', 'btn.notready': 'Go not ready', 'btn.login': 'Log in to queues', 'reason': 'Reason',
    'pending': 'After this call', 'pending.set': 'Not ready after this call', 'pending.now': 'Then: not ready',
    'offer.title': 'Incoming call', 'offer.accept': 'Accept', 'offer.reject': 'Decline', 'offer.queue': 'Queue',
    'offer.wait': 'Waited', 'offer.rings': 'Rings for', 'unknown.caller': 'Unknown caller',
    'customer': 'Customer', 'customer.new': 'New customer', 'customer.name': 'Name', 'customer.company': 'Company',
    'customer.tier': 'Tier', 'customer.tags': 'Tags (comma separated)', 'customer.notes': 'Notes', 'customer.phone': 'Phone',
    'customer.edit': 'Edit', 'customer.saved': 'Customer saved', 'customer.none': 'No customer on screen',
    'customer.search': 'Search customers', 'call': 'Call', 'dialing': 'Calling…',
    'tier.platinum': 'Platinum', 'tier.gold': 'Gold', 'tier.standard': 'Standard',
    'timeline': 'History', 'timeline.empty': 'No earlier contacts', 'play': 'Play recording',
    'ivr': 'IVR path', 'ivr.inputs': 'Inputs', 'script': 'Call script', 'script.none': 'No script for this queue',
    'controls': 'Call', 'hold': 'Hold', 'resume': 'Resume', 'transfer': 'Transfer', 'conference': 'Conference',
    'hangup': 'Hang up', 'rec.pause': 'Pause recording', 'rec.resume': 'Resume recording', 'rec.paused': 'Recording paused',
    'transfer.kind': 'Kind', 'transfer.blind': 'Blind', 'transfer.consult': 'Consult', 'transfer.to': 'To',
    'transfer.queue': 'Queue', 'transfer.agent': 'Agent', 'transfer.number': 'Number', 'transfer.go': 'Transfer',
    'transfer.complete': 'Complete transfer', 'transfer.cancel': 'Back to caller',
    'wrap.title': 'Wrap-up', 'wrap.disposition': 'Disposition', 'wrap.choose': '— choose —', 'wrap.notes': 'Notes',
    'wrap.done': 'Save & ready', 'wrap.save': 'Save', 'wrap.extend': '+30 s', 'wrap.left': 'left', 'wrap.saved': 'Wrap-up saved',
    'idle.title': 'Waiting for calls', 'idle.ready': 'You are ready. Calls will ring here.',
    'idle.notready': 'You are not ready. Press F2 when you are.',
    'wall.queues': 'Queues', 'wall.agents': 'Agents', 'wall.calls': 'Live calls', 'wall.admin': 'Configuration', 'wall.reports': 'Reports',
    'q.waiting': 'Waiting', 'q.longest': 'Longest wait', 'q.sl15': 'SL 15 min', 'q.sl': 'SL today', 'q.asa': 'ASA',
    'q.abandon': 'Abandoned', 'q.agents': 'Agents', 'a.name': 'Agent', 'a.state': 'State', 'a.time': 'Time',
    'a.call': 'Call', 'a.actions': 'Actions', 'listen': 'Listen', 'whisper': 'Whisper', 'barge': 'Barge', 'stop': 'Stop',
    'force.notready': 'Not ready', 'force.logout': 'Log out', 'trace': 'Why this agent?', 'c.state': 'State',
    'c.queue': 'Queue', 'c.caller': 'Caller', 'c.agent': 'Agent', 'c.time': 'Time', 'none': 'None',
    'confirm.logout': 'Log this agent out?', 'done': 'Done',
    'adm.agent': 'Agent', 'adm.queue': 'Queue', 'adm.skill': 'Skill', 'adm.script': 'Script', 'adm.disposition': 'Disposition',
    'adm.reason': 'Reason code', 'adm.login': 'Login', 'adm.display': 'Display name', 'adm.role': 'Role',
    'adm.endpoint': 'Endpoint', 'adm.skills': 'Skills (skill:1-10, …)', 'adm.queues': 'Queues (comma separated)',
    'adm.password': 'New password (empty: keep)', 'adm.disabled': 'Disabled', 'adm.name': 'Name', 'adm.label': 'Label',
    'adm.code': 'Code', 'adm.position': 'Position', 'adm.strategy': 'Strategy', 'adm.sl_target': 'SL target (0-1)',
    'adm.sl_threshold': 'SL threshold (s)', 'adm.wrap': 'Wrap-up (s)', 'adm.ring': 'Ring timeout (s)',
    'adm.maxwait': 'Max wait (s)', 'adm.overflow': 'Overflow queue', 'adm.maxlen': 'Max length',
    'adm.escalation': 'Escalation steps (JSON)', 'adm.tz': 'Time zone', 'adm.require': 'Disposition required',
    'adm.title': 'Title', 'adm.body': 'Body (Markdown, {{customer.name}}…)', 'adm.tier': 'Tier (empty: all)',
    'adm.queue_opt': 'Queue (empty: all)', 'adm.saved': 'Saved',
    'keys.title': 'Keyboard shortcuts', 'keys.ready': 'Ready / not ready', 'keys.accept': 'Accept the ringing call',
    'keys.hangup': 'Hang up', 'keys.hold': 'Hold / resume', 'keys.transfer': 'Transfer', 'keys.esc': 'Close dialogs',
    'keys.help': 'This help', 'keys.search': 'Search customers',
    'rep.from': 'From', 'rep.to': 'To', 'rep.interval': 'Interval', 'rep.queue': 'Queue', 'rep.agent': 'Agent', 'rep.all': 'all',
    'rep.iv.15m': '15 minutes', 'rep.iv.hour': 'hour', 'rep.iv.day': 'day', 'rep.iv.week': 'week', 'rep.show': 'Show',
    'rep.csv': 'Download CSV', 'rep.queues': 'Queues', 'rep.agents': 'Agents', 'rep.value': 'Customer value',
    'rep.offered': 'Offered', 'rep.answered': 'Answered', 'rep.abandoned': 'Abandoned', 'rep.abandoned_short': 'Abandoned (short)',
    'rep.overflowed': 'Overflowed', 'rep.sl': 'SL', 'rep.asa': 'ASA', 'rep.aht': 'AHT', 'rep.transfers': 'Transfers',
    'rep.callbacks': 'Callbacks', 'rep.calls': 'calls', 'rep.logged_in': 'Logged in', 'rep.not_ready': 'Not ready',
    'rep.occupancy': 'Occupancy', 'rep.customer': 'Customer', 'rep.tier': 'Tier', 'rep.contacts': 'Contacts', 'rep.last': 'Last',
    'rep.customers': 'Customers', 'rep.contacted': 'Contacted', 'rep.disposition': 'Disposition', 'rep.count': 'Count',
    'rep.fcr': '{contacts} contacts of known customers; repeated within 24 h: {r24} (first-contact resolution {f24}), within 7 days: {r7} (FCR {f7}).',
  },
  'zh-CN': {
    'app': 'Switchboard', 'signin.title': '登录', 'signin.login': '账号', 'signin.password': '密码', 'signin.submit': '登录',
    'signin.failed': '账号或密码错误', 'signin.limited': '尝试次数过多，请稍后再试',
    'signout': '退出', 'close': '关闭', 'save': '保存', 'cancel': '取消', 'help': '快捷键',
    'conn.open': '在线', 'conn.connecting': '正在重新连接…', 'conn.closed': '离线',
    'state.logged-out': '已登出', 'state.not-ready': '未就绪', 'state.ready': '就绪', 'state.reserved': '振铃中',
    'state.on-call': '通话中', 'state.wrap-up': '话后处理',
    'btn.ready': '置为就绪', 'btn.notready': '置为未就绪', 'btn.login': '登录队列', 'reason': '原因',
    'pending': '本通话后', 'pending.set': '本通话后置为未就绪', 'pending.now': '之后：未就绪',
    'offer.title': '来电', 'offer.accept': '接听', 'offer.reject': '拒接', 'offer.queue': '队列',
    'offer.wait': '已等待', 'offer.rings': '剩余振铃', 'unknown.caller': '未知来电',
    'customer': '客户', 'customer.new': '新客户', 'customer.name': '姓名', 'customer.company': '公司',
    'customer.tier': '等级', 'customer.tags': '标签（逗号分隔）', 'customer.notes': '备注', 'customer.phone': '电话',
    'customer.edit': '编辑', 'customer.saved': '客户已保存', 'customer.none': '当前没有客户',
    'customer.search': '搜索客户', 'call': '呼叫', 'dialing': '正在呼叫…',
    'tier.platinum': '白金', 'tier.gold': '黄金', 'tier.standard': '普通',
    'timeline': '历史记录', 'timeline.empty': '没有以往联系', 'play': '播放录音',
    'ivr': 'IVR 路径', 'ivr.inputs': '输入', 'script': '话术', 'script.none': '此队列没有话术',
    'controls': '通话', 'hold': '保持', 'resume': '恢复', 'transfer': '转接', 'conference': '会议',
    'hangup': '挂断', 'rec.pause': '暂停录音', 'rec.resume': '恢复录音', 'rec.paused': '录音已暂停',
    'transfer.kind': '方式', 'transfer.blind': '直接转接', 'transfer.consult': '咨询转接', 'transfer.to': '转给',
    'transfer.queue': '队列', 'transfer.agent': '坐席', 'transfer.number': '号码', 'transfer.go': '转接',
    'transfer.complete': '完成转接', 'transfer.cancel': '返回客户',
    'wrap.title': '话后处理', 'wrap.disposition': '处理结果', 'wrap.choose': '— 请选择 —', 'wrap.notes': '备注',
    'wrap.done': '保存并就绪', 'wrap.save': '保存', 'wrap.extend': '+30 秒', 'wrap.left': '剩余', 'wrap.saved': '话后处理已保存',
    'idle.title': '等待来电', 'idle.ready': '您已就绪，来电将在此振铃。', 'idle.notready': '您未就绪。准备好后按 F2。',
    'wall.queues': '队列', 'wall.agents': '坐席', 'wall.calls': '实时通话', 'wall.admin': '配置', 'wall.reports': '报表',
    'q.waiting': '排队', 'q.longest': '最长等待', 'q.sl15': '15分钟服务水平', 'q.sl': '今日服务水平', 'q.asa': '平均应答',
    'q.abandon': '放弃率', 'q.agents': '坐席', 'a.name': '坐席', 'a.state': '状态', 'a.time': '时长',
    'a.call': '通话', 'a.actions': '操作', 'listen': '监听', 'whisper': '耳语', 'barge': '强插', 'stop': '停止',
    'force.notready': '置未就绪', 'force.logout': '强制登出', 'trace': '为何分配给此坐席？', 'c.state': '状态',
    'c.queue': '队列', 'c.caller': '主叫', 'c.agent': '坐席', 'c.time': '时长', 'none': '无',
    'confirm.logout': '确定登出此坐席？', 'done': '完成',
    'adm.agent': '坐席', 'adm.queue': '队列', 'adm.skill': '技能', 'adm.script': '话术', 'adm.disposition': '处理结果',
    'adm.reason': '未就绪原因', 'adm.login': '账号', 'adm.display': '显示名', 'adm.role': '角色',
    'adm.endpoint': '终端', 'adm.skills': '技能（技能:1-10，…）', 'adm.queues': '队列（逗号分隔）',
    'adm.password': '新密码（留空则不变）', 'adm.disabled': '停用', 'adm.name': '名称', 'adm.label': '标签',
    'adm.code': '代码', 'adm.position': '顺序', 'adm.strategy': '分配策略', 'adm.sl_target': '服务水平目标 (0-1)',
    'adm.sl_threshold': '服务水平阈值（秒）', 'adm.wrap': '话后处理（秒）', 'adm.ring': '振铃超时（秒）',
    'adm.maxwait': '最长等待（秒）', 'adm.overflow': '溢出队列', 'adm.maxlen': '最大长度',
    'adm.escalation': '升级步骤 (JSON)', 'adm.tz': '时区', 'adm.require': '必须填写处理结果',
    'adm.title': '标题', 'adm.body': '正文（Markdown，{{customer.name}}…）', 'adm.tier': '等级（留空：全部）',
    'adm.queue_opt': '队列（留空：全部）', 'adm.saved': '已保存',
    'keys.title': '快捷键', 'keys.ready': '就绪 / 未就绪', 'keys.accept': '接听振铃中的来电',
    'keys.hangup': '挂断', 'keys.hold': '保持 / 恢复', 'keys.transfer': '转接', 'keys.esc': '关闭对话框',
    'keys.help': '本帮助', 'keys.search': '搜索客户',
    'rep.from': '开始', 'rep.to': '结束', 'rep.interval': '间隔', 'rep.queue': '队列', 'rep.agent': '坐席', 'rep.all': '全部',
    'rep.iv.15m': '15 分钟', 'rep.iv.hour': '小时', 'rep.iv.day': '天', 'rep.iv.week': '周', 'rep.show': '查询',
    'rep.csv': '下载 CSV', 'rep.queues': '队列', 'rep.agents': '坐席', 'rep.value': '客户价值',
    'rep.offered': '呼入', 'rep.answered': '接听', 'rep.abandoned': '放弃', 'rep.abandoned_short': '放弃（短时）',
    'rep.overflowed': '溢出', 'rep.sl': '服务水平', 'rep.asa': '平均应答时间', 'rep.aht': '平均处理时长', 'rep.transfers': '转接',
    'rep.callbacks': '回呼', 'rep.calls': '通话', 'rep.logged_in': '登录时长', 'rep.not_ready': '未就绪',
    'rep.occupancy': '占用率', 'rep.customer': '客户', 'rep.tier': '等级', 'rep.contacts': '联系次数', 'rep.last': '最近',
    'rep.customers': '客户数', 'rep.contacted': '已联系', 'rep.disposition': '处理结果', 'rep.count': '次数',
    'rep.fcr': '已知客户联系 {contacts} 次；24 小时内重复：{r24}（首次解决率 {f24}），7 天内：{r7}（首次解决率 {f7}）。',
  },
};

const KEY = 'sb.lang';
let lang = pick();

function pick() {
  let saved = null;
  try { saved = localStorage.getItem(KEY); } catch { /* storage disabled */ }
  if (saved && dict[saved]) return saved;
  return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export function getLang() { return lang; }

export function setLang(l) {
  if (!dict[l]) return;
  lang = l;
  try { localStorage.setItem(KEY, l); } catch { /* storage disabled */ }
  document.documentElement.lang = l;
  apply(document);
}

// t returns the text of key in the current language, falling back to English, then to the key itself.
export function t(key) {
  return (dict[lang] && dict[lang][key]) || dict.en[key] || key;
}

export function apply(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attr of ['placeholder', 'title', 'aria-label']) {
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`)));
  }
}

export const dictionaries = dict;
