// i18n.js - the console's words in English and Arabic; the choice is remembered in localStorage
// and sets <html lang dir>. Field names and values the table does not know are shown as they are
// written in the API (with - and _ as spaces).

const words = {
  en: {
    brand: 'sharaka', switch: 'العربية', signin: 'Sign in', signout: 'Sign out', email: 'Email',
    password: 'Password', signin_failed: 'Signing in failed', organizations: 'Organizations',
    ministries: 'Public bodies', 'partnership-types': 'Partnership types',
    partnerships: 'Partnerships', charters: 'Charters', 'monitoring-records': 'Monitoring',
    verify: 'To verify', users: 'Users', 'api-keys': 'API keys', 'audit-log': 'Audit log',
    change_password: 'Password', search: 'Search', sort: 'Sort', any: 'any', next: 'Next',
    prev: 'Previous', new: 'New', edit: 'Edit', delete: 'Delete', restore: 'Restore',
    audit: 'History', save: 'Save', cancel: 'Cancel', confirm: 'Confirm', csv: 'CSV',
    xlsx: 'Spreadsheet', none: 'Nothing here yet.', loading: 'Loading…', deleted: 'Deleted.',
    restored: 'Restored.', saved: 'Saved.', confirm_delete: 'Delete this record?',
    confirm_revoke: 'Revoke this key? It stops working at once.', forbidden: 'Not allowed',
    verify_action: 'Verify', verified: 'Verified', sign: 'Sign for my organization',
    sign_ministry: 'Sign for my public body', signed_on: 'Signed on', signed_by: 'Signed by',
    signatories: 'Signatories', ministry: 'Public body', type: 'Type', signatures: 'Signatures',
    current_password: 'Current password', new_password: 'New password',
    password_changed: 'Your password is changed; your other sessions have ended.',
    new_key: 'New key', secret_once: 'The key, shown this once:', revoke: 'Revoke',
    revoked: 'Revoked', reset_password: 'New password for this user',
    default_sort: 'default', relevance: 'best match', add: 'Add', remove: 'Remove',
    heading: 'Heading', body: 'Text', role: 'Role', record: 'Record', at: 'When', actor: 'Who',
    action: 'Action', changes: 'Changes', add_section: 'Add a section', add_party: 'Add a party',
    one_per_line: 'one per line', comma_separated: 'comma-separated',
    scheme_lines: 'one "scheme: id" per line', yes: 'yes', no: 'no', page_of: 'records',
    not_found: 'Not found', error: 'Something went wrong', choose: 'choose…',
    type_to_search: 'type to search', internal_note: 'internal', offline: 'The server cannot be reached.',
  },
  ar: {
    brand: 'شراكة', switch: 'English', signin: 'تسجيل الدخول', signout: 'تسجيل الخروج',
    email: 'البريد الإلكتروني', password: 'كلمة المرور', signin_failed: 'تعذّر تسجيل الدخول',
    organizations: 'المنظمات', ministries: 'الهيئات العامة', 'partnership-types': 'أنواع الشراكة',
    partnerships: 'الشراكات', charters: 'المواثيق', 'monitoring-records': 'المتابعة',
    verify: 'بانتظار التحقق', users: 'المستخدمون', 'api-keys': 'مفاتيح الواجهة',
    'audit-log': 'سجل التدقيق', change_password: 'كلمة المرور', search: 'بحث', sort: 'الترتيب',
    any: 'الكل', next: 'التالي', prev: 'السابق', new: 'جديد', edit: 'تعديل', delete: 'حذف',
    restore: 'استعادة', audit: 'السجل', save: 'حفظ', cancel: 'إلغاء', confirm: 'تأكيد', csv: 'CSV',
    xlsx: 'جدول بيانات', none: 'لا شيء هنا بعد.', loading: 'جارٍ التحميل…', deleted: 'حُذف.',
    restored: 'استُعيد.', saved: 'حُفظ.', confirm_delete: 'حذف هذا السجل؟',
    confirm_revoke: 'إبطال هذا المفتاح؟ يتوقف عن العمل فوراً.', forbidden: 'غير مسموح',
    verify_action: 'تحقق', verified: 'تم التحقق', sign: 'التوقيع باسم منظمتي',
    sign_ministry: 'التوقيع باسم هيئتي', signed_on: 'تاريخ التوقيع', signed_by: 'الموقِّع',
    signatories: 'الموقعون', ministry: 'الهيئة العامة', type: 'النوع', signatures: 'التواقيع',
    current_password: 'كلمة المرور الحالية', new_password: 'كلمة المرور الجديدة',
    password_changed: 'تغيّرت كلمة المرور وانتهت جلساتك الأخرى.', new_key: 'مفتاح جديد',
    secret_once: 'المفتاح، يظهر هذه المرة فقط:', revoke: 'إبطال', revoked: 'أُبطل',
    reset_password: 'كلمة مرور جديدة لهذا المستخدم', default_sort: 'الافتراضي',
    relevance: 'الأكثر تطابقاً', add: 'إضافة', remove: 'إزالة', heading: 'العنوان', body: 'النص',
    role: 'الدور', record: 'السجل', at: 'الوقت', actor: 'الفاعل', action: 'الإجراء',
    changes: 'التغييرات', add_section: 'إضافة قسم', add_party: 'إضافة طرف',
    one_per_line: 'واحد في كل سطر', comma_separated: 'مفصولة بفواصل',
    scheme_lines: 'سطر لكل "مخطط: رقم"', yes: 'نعم', no: 'لا', page_of: 'سجلات',
    not_found: 'غير موجود', error: 'حدث خطأ', choose: 'اختر…', type_to_search: 'اكتب للبحث',
    internal_note: 'داخلي', offline: 'تعذّر الوصول إلى الخادم.',
  },
};

const fieldsEn = {
  type_id: 'Type', ministry_id: 'Public body', parent_id: 'Parent body', partnership_id: 'Partnership',
  organization_id: 'Organization', party_id: 'Party', party_type: 'Party type', verified_by: 'Verified by',
  external_ids: 'Identifiers', id: 'Id', evidence_urls: 'Evidence (links)', document_url: 'Document',
};
const languageNames = { ar: 'Arabic', en: 'English', fr: 'French' };

const fieldsAr = {
  name: 'الاسم', name_ar: 'الاسم بالعربية', name_en: 'الاسم بالإنكليزية', name_fr: 'الاسم بالفرنسية',
  acronym: 'الاختصار', kind: 'الفئة', registration_number: 'رقم التسجيل', external_ids: 'المعرّفات',
  founded_on: 'تاريخ التأسيس', governorate: 'المحافظة', district: 'القضاء', sectors: 'القطاعات',
  website: 'الموقع', email: 'البريد الإلكتروني', phone: 'الهاتف', description: 'الوصف',
  description_ar: 'الوصف بالعربية', description_en: 'الوصف بالإنكليزية',
  description_fr: 'الوصف بالفرنسية', status: 'الحالة', parent_id: 'الهيئة الأم', code: 'الرمز',
  financial: 'مالية', engagement_level: 'مستوى المشاركة', title: 'العنوان',
  title_ar: 'العنوان بالعربية', title_en: 'العنوان بالإنكليزية', title_fr: 'العنوان بالفرنسية',
  type_id: 'نوع الشراكة', ministry_id: 'الهيئة العامة', organizations: 'المنظمات',
  programme: 'البرنامج', instrument: 'الأداة', instrument_reference: 'مرجع الأداة',
  legal_basis: 'السند القانوني', start_date: 'تاريخ البدء', end_date: 'تاريخ الانتهاء',
  amount: 'المبلغ', currency: 'العملة', governorates: 'المحافظات', version_label: 'الإصدار',
  adopted_on: 'تاريخ الاعتماد', summary: 'الملخص', summary_ar: 'الملخص بالعربية',
  summary_en: 'الملخص بالإنكليزية', summary_fr: 'الملخص بالفرنسية', sections: 'الأقسام',
  document_url: 'رابط الوثيقة', partnership_id: 'الشراكة', period_start: 'بداية الفترة',
  period_end: 'نهاية الفترة', indicator: 'المؤشر', unit: 'الوحدة', baseline: 'خط الأساس',
  target: 'الهدف', actual: 'الفعلي', rating: 'التقييم', findings: 'النتائج',
  recommendations: 'التوصيات', evidence_urls: 'روابط الأدلة', verified_by: 'تحقق منه',
  verified_at: 'وقت التحقق', party_type: 'نوع الطرف', party_id: 'الطرف',
  signed_on: 'تاريخ التوقيع', signed_by: 'الموقِّع', withdrawn_on: 'تاريخ الانسحاب',
  role: 'الدور', organization_id: 'المنظمة', active: 'نشط', source: 'المصدر',
  version: 'النسخة', created_at: 'أُنشئ', updated_at: 'عُدّل', id: 'المعرّف', password: 'كلمة المرور',
  prefix: 'البادئة', last_used_at: 'آخر استخدام', revoked_at: 'أُبطل في',
};

const valuesAr = {
  active: 'نشط', inactive: 'غير نشط', dissolved: 'منحلّ', planned: 'مخطط', completed: 'مكتمل',
  suspended: 'معلّق', terminated: 'منتهٍ', draft: 'مسودة', submitted: 'مُرسل', verified: 'مُتحقق',
  adopted: 'معتمد', revised: 'منقّح', retired: 'متقاعد', association: 'جمعية', network: 'شبكة',
  union: 'اتحاد', foundation: 'مؤسسة', academic: 'أكاديمية', 'research-center': 'مركز أبحاث',
  international: 'دولية', 'private-sector': 'قطاع خاص', cooperative: 'تعاونية', club: 'نادٍ',
  other: 'أخرى', ministry: 'وزارة', 'minister-of-state-office': 'مكتب وزير دولة', council: 'مجلس',
  'public-institution': 'مؤسسة عامة', municipality: 'بلدية',
  'union-of-municipalities': 'اتحاد بلديات', beirut: 'بيروت', 'mount-lebanon': 'جبل لبنان',
  north: 'الشمال', akkar: 'عكار', beqaa: 'البقاع', 'baalbek-hermel': 'بعلبك الهرمل',
  south: 'الجنوب', nabatieh: 'النبطية', 'keserwan-jbeil': 'كسروان جبيل', lead: 'قائد',
  partner: 'شريك', implementer: 'منفّذ', funder: 'مموّل', 'on-track': 'على المسار',
  'at-risk': 'في خطر', 'off-track': 'خارج المسار', 'not-rated': 'غير مقيّم', citizen: 'مواطن',
  partnership: 'شراكة', organization: 'منظمة', admin: 'مدير', analyst: 'محلّل', editor: 'محرّر',
  create: 'إنشاء', update: 'تعديل', delete: 'حذف', restore: 'استعادة', information: 'إعلام',
  consultation: 'تشاور', cooperation: 'تعاون', contract: 'عقد', mou: 'مذكرة تفاهم', decree: 'مرسوم',
  'grant-agreement': 'اتفاقية منحة', informal: 'غير رسمي',
};

export let lang = localStorage.getItem('sharaka.lang') === 'ar' ? 'ar' : 'en';

export function t(key) { return words[lang][key] ?? words.en[key] ?? key; }

const spaced = (s) => String(s).replace(/[_-]/g, ' ');
export function fieldLabel(name) {
  if (lang === 'ar' && fieldsAr[name]) return fieldsAr[name];
  if (lang === 'en' && fieldsEn[name]) return fieldsEn[name];
  const m = /^(.*)_(ar|en|fr)$/.exec(name);
  if (lang === 'en' && m) return `${fieldLabel(m[1])} (${languageNames[m[2]]})`;
  const s = spaced(name);
  return s.charAt(0).toUpperCase() + s.slice(1);
}
export function valueLabel(v) {
  if (lang === 'ar' && valuesAr[v]) return valuesAr[v];
  return spaced(v);
}

export function setLang(next) {
  lang = next === 'ar' ? 'ar' : 'en';
  localStorage.setItem('sharaka.lang', lang);
  applyLang();
}

export function applyLang() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === 'ar' ? 'rtl' : 'ltr';
  document.title = t('brand');
}
