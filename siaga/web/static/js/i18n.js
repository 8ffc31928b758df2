// Words of the console: Bahasa Indonesia first, English second. Dates and numbers are
// formatted by the Intl APIs in the chosen locale (id-ID or en-GB).

const WORDS = {
  id: {
    title: 'Konsol Siaga', signin: 'Masuk', signout: 'Keluar', enroll: 'Daftarkan perangkat ini',
    member: 'Anggota', code: 'Kode pendaftaran', label: 'Nama perangkat', labelDefault: 'Konsol peramban',
    enrollHint: 'Admin memberi kode sekali pakai (siaga admin enroll). Kunci dibuat di peramban ini dan tidak pernah meninggalkannya.',
    signedInAs: 'Masuk sebagai', fingerprint: 'Sidik jari perangkat', forget: 'Lupakan perangkat ini',
    continueAs: 'Lanjut sebagai', language: 'Bahasa', talkgroups: 'Talkgroup', join: 'Dengarkan', leave: 'Berhenti',
    volume: 'Volume', mute: 'Bisukan', unmute: 'Suarakan', selectTg: 'Pilih untuk bicara', selected: 'dipilih',
    ptt: 'TEKAN UNTUK BICARA', pttHint: 'Tahan tombol, atau tahan SPASI (bila tidak sedang di tombol lain)', emergency: 'DARURAT', emergencyStop: 'Akhiri panggilan darurat',
    clearEmergency: 'Akhiri keadaan darurat', emergencyOn: 'DARURAT di {tg}: {who}', emergencyOff: 'Keadaan darurat {tg} diakhiri oleh {who}',
    idle: 'Siaga — tekan untuk bicara di {tg}', requesting: 'Meminta giliran bicara…', talking: 'BICARA di {tg}',
    timeLeft: 'sisa {s} d', queued: 'Antre: urutan ke-{n}', denied: 'Ditolak: {reason}', preempted: 'Dipotong: {reason}',
    reason_preempted: 'didahului prioritas lebih tinggi', reason_time_limit: 'batas waktu bicara habis', reason_emergency: 'panggilan darurat',
    reason_no_key: 'kunci enkripsi talkgroup belum diterima', reason_microphone: 'mikrofon tidak dapat dibuka',
    reason_floor_busy: 'saluran sibuk', reason_not_allowed: 'tidak berhak bicara di sini', reason_not_joined: 'belum bergabung',
    reason_already_transmitting: 'sedang bicara di talkgroup lain', reason_unknown_talkgroup: 'talkgroup tidak dikenal',
    talkingNow: 'Bicara', nobody: 'hening', sealed: 'terenkripsi ujung ke ujung, pembicara terverifikasi', unsealed: 'TIDAK terenkripsi',
    map: 'Peta', rollcall: 'Apel', orders: 'Perintah', messages: 'Pesan', alerts: 'Peringatan', history: 'Riwayat',
    mapNote: 'Peta skematis: garis batas provinsi hanya perkiraan, titik adalah ibu kota kabupaten/kota.',
    positions: 'Posisi anggota', noPositions: 'Belum ada laporan posisi.',
    rollcallAsk: 'Apel di {tg} oleh {who}: jawab sebelum {t}', answer: 'Hadir', startRollcall: 'Mulai apel', answered: 'Menjawab',
    silent: 'Belum menjawab', closed: 'selesai', open: 'berjalan', noRollcall: 'Belum ada apel.',
    ordersFor: 'Perintah untuk saya', ordersBy: 'Perintah yang saya berikan', copied: 'Dimengerti', done: 'Selesai',
    state_issued: 'dikirim', state_copied: 'dimengerti', state_done: 'selesai', state_escalated: 'dieskalasi',
    issueOrder: 'Beri perintah', to: 'Kepada', text: 'Isi', due: 'Tenggat (menit)', send: 'Kirim', noOrders: 'Tidak ada perintah.',
    dueAt: 'tenggat {t}', repeat: 'diulang {n}×',
    sendMessage: 'Kirim pesan', status: 'Status', noMessages: 'Belum ada pesan.', delivered: 'diterima', read: 'dibaca',
    noAlerts: 'Tidak ada peringatan publik.', noHistory: 'Belum ada siaran.', replay: 'Putar ulang',
    outcome_completed: 'selesai', outcome_preempted: 'dipotong', outcome_timed_out: 'batas waktu', outcome_connection_lost: 'koneksi putus',
    outcome_interrupted: 'terputus', online: 'daring', offline: 'luring', connected: 'Terhubung', disconnected: 'Terputus dari server — menyambung ulang…',
    role_governor: 'Gubernur', role_regional_head: 'Kepala Daerah', role_staff: 'Staf/Operator', role_police: 'Polisi',
    role_fire: 'Pemadam Kebakaran', role_bpbd: 'BPBD', role_kpu: 'KPU', role_bawaslu: 'Bawaslu', role_auditor: 'Auditor', role_admin: 'Admin',
    enrolling: 'Membuat kunci dan mendaftar…', signingIn: 'Masuk…', error: 'Galat', noCodecs: 'Peramban ini tidak mendukung WebCodecs (Opus): gunakan Chromium/Chrome terbaru.',
    waitingKeys: 'Menunggu kunci talkgroup dari penjaga kunci…', me: 'saya', seconds: '{s} d',
    sitrep: 'Laporan situasi', sitrepMaking: 'Menyusun laporan situasi…', sitrepMd: 'Unduh Markdown', sitrepPdf: 'Unduh PDF',
    election: 'Pemilu', flood: 'Banjir', sendTo: 'Kirim ke', toTalkgroup: 'talkgroup (dipilih di kiri)', toPerson: 'satu orang',
    person: 'Penerima', direct: 'langsung', noDevices: '{who} belum punya perangkat terdaftar',
    liveAlert: 'Baru diterbitkan', alertOpen: 'Buka peringatan (CAP)',
    alertKind_evacuation: 'Evakuasi', alertKind_aid_point: 'Titik bantuan', alertKind_tps_relocation: 'TPS dipindah',
    regency: 'Kabupaten/kota', allRegencies: 'Semua kabupaten/kota', province: 'Provinsi', asOf: 'Data per {t}', noReports: 'Belum ada laporan.',
    electionSummary: 'Rekap per kabupaten/kota', tpsReported: 'TPS melapor', turnout: 'Partisipasi', disrupted: 'Terganggu', relocated: 'Dipindah',
    tpsOf: 'TPS di {r}', ballotsVoters: 'Suara/DPT', incidents: 'Kejadian', logistics: 'Logistik', relocation: 'Pemindahan TPS',
    note: 'Catatan', updated: 'Diperbarui', tpsReport: 'Lapor keadaan TPS', ballotsCast: 'Surat suara terpakai', place: 'Tempat baru',
    lat: 'Lintang', lon: 'Bujur', reportStored: 'Laporan tersimpan.',
    tps_preparing: 'persiapan', tps_open: 'dibuka', tps_voting: 'pemungutan', tps_counting: 'penghitungan', tps_finished: 'selesai',
    tps_disrupted: 'terganggu', tps_relocated: 'dipindah',
    inc_flooding: 'banjir', inc_logistics_delay: 'logistik terlambat', inc_security: 'keamanan', inc_power: 'listrik padam', inc_other: 'lainnya',
    log_dispatched: 'dikirim', log_arrived: 'tiba di TPS', log_returned: 'kembali ke PPK',
    flood_active: 'aktif', flood_receding: 'surut', flood_closed: 'selesai',
    need_food: 'makanan', need_water: 'air bersih', need_boats: 'perahu', need_medicine: 'obat', need_shelter: 'tempat pengungsian', need_other: 'lainnya',
    floodSummary: 'Rekap banjir per kabupaten/kota', incidentsCol: 'Kejadian', affected: 'Terdampak', evacuated: 'Dievakuasi',
    sheltered: 'Mengungsi/kapasitas', needsOutstanding: 'Kebutuhan kurang', water: 'Tinggi air', timeline: 'Riwayat kejadian',
    waterOverTime: 'Tinggi air dari waktu ke waktu: {v}', shelters: 'Pengungsian', name: 'Nama', occupants: 'Pengungsi/kapasitas',
    occupancy: 'Keterisian', needs: 'Kebutuhan', need: 'Jenis', requested: 'Diminta', fulfilled: 'Dipenuhi', outstanding: 'Kurang',
    noIncidents: 'Tidak ada kejadian banjir.', floodReport: 'Lapor kejadian banjir', incident: 'Kejadian', newIncident: 'Kejadian baru',
    incidentTitle: 'Judul kejadian', needsOpen: '{k}: {n} permintaan', affectedEvacuated: 'Terdampak/dievakuasi', details: 'Keterangan', waterCm: 'Tinggi air (cm)',
  },
  en: {
    title: 'Siaga console', signin: 'Sign in', signout: 'Sign out', enroll: 'Enroll this device',
    member: 'Member', code: 'Enrollment code', label: 'Device name', labelDefault: 'Browser console',
    enrollHint: 'An admin gives a one-time code (siaga admin enroll). Keys are made in this browser and never leave it.',
    signedInAs: 'Signed in as', fingerprint: 'Device fingerprint', forget: 'Forget this device',
    continueAs: 'Continue as', language: 'Language', talkgroups: 'Talkgroups', join: 'Listen', leave: 'Stop',
    volume: 'Volume', mute: 'Mute', unmute: 'Unmute', selectTg: 'Select to talk', selected: 'selected',
    ptt: 'PUSH TO TALK', pttHint: 'Hold the button, or hold SPACE (when not on another control)', emergency: 'EMERGENCY', emergencyStop: 'End emergency call',
    clearEmergency: 'Clear emergency', emergencyOn: 'EMERGENCY on {tg}: {who}', emergencyOff: 'Emergency on {tg} cleared by {who}',
    idle: 'Standing by — push to talk on {tg}', requesting: 'Requesting the floor…', talking: 'TALKING on {tg}',
    timeLeft: '{s} s left', queued: 'Queued: position {n}', denied: 'Denied: {reason}', preempted: 'Cut off: {reason}',
    reason_preempted: 'a higher priority took over', reason_time_limit: 'talk time limit reached', reason_emergency: 'emergency call',
    reason_no_key: 'the talkgroup key has not arrived yet', reason_microphone: 'cannot open the microphone',
    reason_floor_busy: 'channel busy', reason_not_allowed: 'not allowed to talk here', reason_not_joined: 'not joined',
    reason_already_transmitting: 'already talking on another talkgroup', reason_unknown_talkgroup: 'unknown talkgroup',
    talkingNow: 'Talking', nobody: 'quiet', sealed: 'end-to-end encrypted, talker verified', unsealed: 'NOT encrypted',
    map: 'Map', rollcall: 'Roll call', orders: 'Orders', messages: 'Messages', alerts: 'Alerts', history: 'History',
    mapNote: 'Schematic map: the province outline is approximate; dots are the regency/city seats.',
    positions: 'Member positions', noPositions: 'No positions reported yet.',
    rollcallAsk: 'Roll call on {tg} by {who}: answer before {t}', answer: 'Present', startRollcall: 'Start roll call', answered: 'Answered',
    silent: 'Not answered', closed: 'closed', open: 'open', noRollcall: 'No roll call yet.',
    ordersFor: 'Orders for me', ordersBy: 'Orders I issued', copied: 'Copy', done: 'Done',
    state_issued: 'issued', state_copied: 'copied', state_done: 'done', state_escalated: 'escalated',
    issueOrder: 'Issue an order', to: 'To', text: 'Text', due: 'Due (minutes)', send: 'Send', noOrders: 'No orders.',
    dueAt: 'due {t}', repeat: 'repeated {n}×',
    sendMessage: 'Send a message', status: 'Status', noMessages: 'No messages yet.', delivered: 'delivered', read: 'read',
    noAlerts: 'No public alerts.', noHistory: 'No transmissions yet.', replay: 'Replay',
    outcome_completed: 'completed', outcome_preempted: 'pre-empted', outcome_timed_out: 'time limit', outcome_connection_lost: 'connection lost',
    outcome_interrupted: 'interrupted', online: 'online', offline: 'offline', connected: 'Connected', disconnected: 'Disconnected — reconnecting…',
    role_governor: 'Governor', role_regional_head: 'Regional head', role_staff: 'Staff/Operator', role_police: 'Police',
    role_fire: 'Fire service', role_bpbd: 'BPBD (disaster agency)', role_kpu: 'KPU (election commission)', role_bawaslu: 'Bawaslu (election supervisor)',
    role_auditor: 'Auditor', role_admin: 'Admin',
    enrolling: 'Making keys and enrolling…', signingIn: 'Signing in…', error: 'Error', noCodecs: 'This browser lacks WebCodecs (Opus): use a recent Chromium/Chrome.',
    waitingKeys: 'Waiting for the talkgroup keys from the key keeper…', me: 'me', seconds: '{s} s',
    sitrep: 'Situation report', sitrepMaking: 'Making the situation report…', sitrepMd: 'Download Markdown', sitrepPdf: 'Download PDF',
    election: 'Election', flood: 'Flood', sendTo: 'Send to', toTalkgroup: 'a talkgroup (chosen on the left)', toPerson: 'one person',
    person: 'Recipient', direct: 'direct', noDevices: '{who} has no enrolled device yet',
    liveAlert: 'Just published', alertOpen: 'Open the alert (CAP)',
    alertKind_evacuation: 'Evacuation', alertKind_aid_point: 'Aid point', alertKind_tps_relocation: 'Polling station moved',
    regency: 'Regency/city', allRegencies: 'All regencies/cities', province: 'Province', asOf: 'As of {t}', noReports: 'No reports yet.',
    electionSummary: 'Summary per regency/city', tpsReported: 'TPS reported', turnout: 'Turnout', disrupted: 'Disrupted', relocated: 'Relocated',
    tpsOf: 'Polling stations in {r}', ballotsVoters: 'Ballots/voters', incidents: 'Incidents', logistics: 'Logistics', relocation: 'Relocation',
    note: 'Note', updated: 'Updated', tpsReport: 'Report on a polling station', ballotsCast: 'Ballots cast', place: 'New place',
    lat: 'Latitude', lon: 'Longitude', reportStored: 'Report stored.',
    tps_preparing: 'preparing', tps_open: 'open', tps_voting: 'voting', tps_counting: 'counting', tps_finished: 'finished',
    tps_disrupted: 'disrupted', tps_relocated: 'relocated',
    inc_flooding: 'flooding', inc_logistics_delay: 'logistics delay', inc_security: 'security', inc_power: 'power cut', inc_other: 'other',
    log_dispatched: 'dispatched', log_arrived: 'at the TPS', log_returned: 'back at the PPK',
    flood_active: 'active', flood_receding: 'receding', flood_closed: 'closed',
    need_food: 'food', need_water: 'water', need_boats: 'boats', need_medicine: 'medicine', need_shelter: 'shelter', need_other: 'other',
    floodSummary: 'Floods per regency/city', incidentsCol: 'Incidents', affected: 'Affected', evacuated: 'Evacuated',
    sheltered: 'Sheltered/capacity', needsOutstanding: 'Needs short', water: 'Water level', timeline: 'Timeline',
    waterOverTime: 'Water level over time: {v}', shelters: 'Shelters', name: 'Name', occupants: 'Occupants/capacity',
    occupancy: 'Occupancy', needs: 'Needs', need: 'Kind', requested: 'Requested', fulfilled: 'Fulfilled', outstanding: 'Outstanding',
    noIncidents: 'No flood incidents.', floodReport: 'Report a flood incident', incident: 'Incident', newIncident: 'New incident',
    incidentTitle: 'Incident title', needsOpen: '{k}: {n} open', affectedEvacuated: 'Affected/evacuated', details: 'Details', waterCm: 'Water level (cm)',
  },
};

export let lang = localStorage.getItem('siaga.lang') === 'en' ? 'en' : 'id';
const locale = () => (lang === 'en' ? 'en-GB' : 'id-ID');

export function setLang(value) {
  lang = value === 'en' ? 'en' : 'id';
  localStorage.setItem('siaga.lang', lang);
  document.documentElement.lang = lang;
}

/** The word for `key`, with {name} placeholders filled in. */
export function t(key, fields = {}) {
  const s = WORDS[lang][key] ?? WORDS.id[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in fields ? String(fields[k]) : `{${k}}`));
}

/** A time of day (Unix seconds) in the local format, e.g. 14.05.09 in Indonesian. */
export const time = (seconds) => new Intl.DateTimeFormat(locale(), { timeStyle: 'medium' }).format(new Date(seconds * 1000));
export const dateTime = (seconds) => new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(seconds * 1000));
export const number = (value, digits = 0) => new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(value);

/** Fill every element marked data-i18n (text) or data-i18n-label (aria-label) in `root`. */
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}
