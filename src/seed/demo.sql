-- demo.sql: the demo data loaded by `sharaka seed demo`, run as one transaction.
--
-- It is drawn from the AFKAR programme's account of the workshop «The Charter of Partnership between
-- the Civil Society and the Public Sector» (American University of Beirut, 04 December 2019): the
-- public bodies and organizations named there, the five kinds of partnership found by the survey
-- presented there, the citizen charter and the partnership charter of the AFKAR dialogue platform,
-- and a few partnerships with their monitoring records.
--
-- Idempotent: every row has a fixed id and every insert skips rows that already exist, so a second
-- run changes nothing (no version or updated_at moves) and records edited or deleted since the first
-- run are left as they are. Amounts, reference numbers, dates not given in the document and the
-- monitoring figures are illustrative. Contact details are placeholders (example.org addresses,
-- +961-1-0000xx numbers); registration numbers marked DEMO are fictitious.
--
-- Fixed ids: 5eed00TT-0000-4000-8000-0000000000NN, TT = 01 public bodies, 02 organizations,
-- 03 partnership types, 04 partnerships, 05 charters, 06 charter signatories, 07 monitoring records.
--
-- No BEGIN/COMMIT here: the caller supplies the transaction.

-- ---------------------------------------------------------------- public bodies
-- Parents first: the AFKAR programme office belongs to OMSAR.
INSERT INTO ministries (id, name, name_ar, name_en, name_fr, acronym, kind, parent_id, governorate,
                        website, email, phone, status)
VALUES
    ('5eed0001-0000-4000-8000-000000000001',
     'Office of the Minister of State for Administrative Reform',
     'مكتب وزير الدولة لشؤون التنمية الإدارية',
     'Office of the Minister of State for Administrative Reform',
     'Bureau du Ministre d''État pour la Réforme administrative',
     'OMSAR', 'minister-of-state-office', NULL, 'beirut',
     'https://www.omsar.gov.lb', 'info@omsar.example.org', '+961-1-000001', 'active'),
    ('5eed0001-0000-4000-8000-000000000002',
     'AFKAR Programme Office',
     'مكتب برنامج أفكار لدعم المجتمع المدني',
     'AFKAR Civil Society Support Programme Office',
     'Bureau du programme AFKAR d''appui à la société civile',
     'AFKAR', 'other', '5eed0001-0000-4000-8000-000000000001', 'beirut',
     NULL, 'afkar@omsar.example.org', '+961-1-000002', 'active'),
    ('5eed0001-0000-4000-8000-000000000003',
     'Ministry of Social Affairs',
     'وزارة الشؤون الاجتماعية',
     'Ministry of Social Affairs',
     'Ministère des Affaires sociales',
     'MoSA', 'ministry', NULL, 'beirut',
     'https://www.socialaffairs.gov.lb', 'info@mosa.example.org', '+961-1-000003', 'active'),
    ('5eed0001-0000-4000-8000-000000000004',
     'Economic and Social Council',
     'المجلس الاقتصادي والاجتماعي',
     'Economic and Social Council',
     'Conseil économique et social',
     'ESC', 'council', NULL, 'beirut',
     NULL, 'info@esc.example.org', '+961-1-000004', 'active'),
    ('5eed0001-0000-4000-8000-000000000005',
     'Ministry of Youth and Sports',
     'وزارة الشباب والرياضة',
     'Ministry of Youth and Sports',
     'Ministère de la Jeunesse et des Sports',
     'MoYS', 'ministry', NULL, 'beirut',
     NULL, 'info@moys.example.org', '+961-1-000005', 'active')
ON CONFLICT (id) DO NOTHING;

-- ---------------------------------------------------------------- organizations
INSERT INTO organizations (id, name, name_ar, name_en, name_fr, acronym, kind, registration_number,
                           external_ids, founded_on, governorate, district, sectors, website, email,
                           phone, description, status)
VALUES
    ('5eed0002-0000-4000-8000-000000000001',
     'Arab NGO Network for Development',
     'شبكة المنظمات العربية غير الحكومية للتنمية',
     'Arab NGO Network for Development',
     'Réseau des ONG arabes pour le développement',
     'ANND', 'network', 'DEMO-0001/AD',
     '{"LB-MOI": "DEMO-0001/AD"}'::jsonb, NULL, 'beirut', 'Beirut',
     '{development,civic-space,social-justice,public-policy}'::text[],
     'https://www.annd.org', 'info@annd.example.org', '+961-1-000011',
     'Regional network of civil society organizations based in Beirut. Organized the workshop '
     '"The status of civil sector freedom and partnerships" (American University of Beirut, '
     '04 December 2019) and sits on the follow-up committee for communication that came out of it.',
     'active'),
    ('5eed0002-0000-4000-8000-000000000002',
     'National Union of NGOs',
     'الاتحاد الوطني للجمعيات الأهلية',
     'National Union of NGOs',
     NULL,
     NULL, 'union', 'DEMO-0002/AD',
     '{"LB-MOI": "DEMO-0002/AD"}'::jsonb, NULL, 'beirut', 'Beirut',
     '{social-services,civic-space}'::text[],
     NULL, 'info@nun.example.org', '+961-1-000012',
     'Union of non-governmental organizations contracted with the Ministry of Social Affairs. '
     'Co-organizer of the December 2019 workshop on civil sector freedom and partnerships and member '
     'of its follow-up committee for communication.',
     'active'),
    ('5eed0002-0000-4000-8000-000000000003',
     'Issam Fares Institute for Public Policy and International Affairs',
     'معهد عصام فارس للسياسات العامة والشؤون الدولية',
     'Issam Fares Institute for Public Policy and International Affairs',
     'Institut Issam Farès de politiques publiques et d''affaires internationales',
     'IFI', 'academic', NULL,
     '{}'::jsonb, NULL, 'beirut', 'Beirut',
     '{public-policy,research,education}'::text[],
     'https://www.aub.edu.lb/ifi', 'ifi@aub.example.org', '+961-1-000013',
     'Policy institute at the American University of Beirut. Its survey of partnerships between ten '
     'ministries and civil society found five kinds of partnership (service contracts, financial '
     'contributions, project and idea competitions, non-financial aid and cooperation, consultations) '
     'and their weaknesses: weak monitoring and evaluation, missing regulatory frameworks, and a weak '
     'follow-up of contracts.',
     'active'),
    ('5eed0002-0000-4000-8000-000000000004',
     'Lebanon Support',
     'ليبانون سابورت',
     'Lebanon Support',
     'Lebanon Support',
     NULL, 'research-center', NULL,
     '{}'::jsonb, NULL, 'beirut', 'Beirut',
     '{research,civic-space,knowledge-production}'::text[],
     'https://lebanon-support.org', 'info@lebanon-support.example.org', '+961-1-000014',
     'Research centre working on civil society and public affairs in Lebanon; co-organizer of the '
     'December 2019 workshop on civil sector freedom and partnerships.',
     'active'),
    ('5eed0002-0000-4000-8000-000000000005',
     'United Nations Economic and Social Commission for Western Asia',
     'لجنة الأمم المتحدة الاقتصادية والاجتماعية لغربي آسيا (الإسكوا)',
     'United Nations Economic and Social Commission for Western Asia',
     'Commission économique et sociale des Nations Unies pour l''Asie occidentale',
     'ESCWA', 'international', NULL,
     '{}'::jsonb, '1973-08-09', 'beirut', 'Beirut',
     '{development,public-policy,statistics}'::text[],
     'https://www.unescwa.org', 'info@escwa.example.org', '+961-1-000015',
     'Regional commission of the United Nations, headquartered in Beirut. Member of the follow-up '
     'committee for communication set up by the December 2019 workshop.',
     'active'),
    ('5eed0002-0000-4000-8000-000000000006',
     'Social Movement',
     'الحركة الاجتماعية',
     'Social Movement',
     'Mouvement social',
     NULL, 'association', NULL,
     '{}'::jsonb, NULL, 'beirut', 'Beirut',
     '{social-services,youth,education}'::text[],
     NULL, 'info@social-movement.example.org', '+961-1-000016',
     'Lebanese association working on social development; took part in the December 2019 workshop on '
     'civil sector freedom and partnerships.',
     'active'),
    ('5eed0002-0000-4000-8000-000000000007',
     'Demo Youth and Sports Club',
     'نادي الشباب والرياضة (مثال)',
     'Demo Youth and Sports Club',
     NULL,
     NULL, 'club', 'DEMO-0007/AD',
     '{"LB-MOI": "DEMO-0007/AD"}'::jsonb, NULL, 'mount-lebanon', 'Baabda',
     '{youth,sports}'::text[],
     NULL, 'info@club.example.org', '+961-5-000017',
     'A fictitious club, here to show the financial contributions that ministries make to youth and '
     'sports clubs.',
     'active')
ON CONFLICT (id) DO NOTHING;

-- ---------------------------------------------------------------- partnership types
-- The five kinds of partnership found by the survey presented by the Issam Fares Institute.
-- No conflict target: a type created earlier under the same code is kept, and the partnerships
-- below then refer to it.
INSERT INTO partnership_types (id, code, name, name_ar, name_en, name_fr, description, financial,
                               engagement_level)
VALUES
    ('5eed0003-0000-4000-8000-000000000001', 'service-contract',
     'Service contract', 'عقد خدمات', 'Service contract', 'Contrat de services',
     'A public body contracts an organization to deliver a public service, drawing on the '
     'flexibility of the non-governmental sector (for instance the contracts of the Ministry of '
     'Social Affairs with associations).',
     true, 'cooperation'),
    ('5eed0003-0000-4000-8000-000000000002', 'financial-contribution',
     'Financial contribution', 'مساهمة مالية', 'Financial contribution', 'Contribution financière',
     'A public body contributes money to an organization''s activities, for instance to youth and '
     'sports clubs.',
     true, 'cooperation'),
    ('5eed0003-0000-4000-8000-000000000003', 'project-competition',
     'Project and idea competition', 'مسابقة مشاريع وأفكار', 'Project and idea competition',
     'Concours de projets et d''idées',
     'Projects and ideas are solicited from civil society through an open competition and the '
     'winners are carried out with the public body, as in the AFKAR programme of the Office of the '
     'Minister of State for Administrative Reform.',
     false, 'partnership'),
    ('5eed0003-0000-4000-8000-000000000004', 'non-financial-aid',
     'Non-financial aid and cooperation', 'مساعدات غير مالية وتعاون',
     'Non-financial aid and cooperation', 'Aide non financière et coopération',
     'Aid in kind, expertise, premises or joint work, outside any contract.',
     false, 'cooperation'),
    ('5eed0003-0000-4000-8000-000000000005', 'consultation',
     'Consultation', 'استشارة', 'Consultation', 'Consultation',
     'Civil society is consulted on a policy, a law or a programme, outside any contract.',
     false, 'consultation')
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------- partnerships and their parties
-- The parties are added only together with a partnership created by this run, so that parties
-- changed since an earlier run are not put back.
WITH
types (code, seed_id) AS (
    VALUES ('service-contract', '5eed0003-0000-4000-8000-000000000001'::uuid),
           ('financial-contribution', '5eed0003-0000-4000-8000-000000000002'),
           ('project-competition', '5eed0003-0000-4000-8000-000000000003'),
           ('non-financial-aid', '5eed0003-0000-4000-8000-000000000004'),
           ('consultation', '5eed0003-0000-4000-8000-000000000005')
),
type_ids AS (
    SELECT types.code,
           coalesce((SELECT t.id FROM partnership_types t
                     WHERE t.code = types.code AND t.deleted_at IS NULL), types.seed_id) AS id
    FROM types
),
p (id, title, title_ar, type_code, ministry_id, programme, instrument, instrument_reference,
   legal_basis, start_date, end_date, amount, currency, status, governorates, description) AS (
    VALUES
    ('5eed0004-0000-4000-8000-000000000001'::uuid,
     'AFKAR 3: competition for civil society projects and ideas',
     'أفكار 3: مسابقة مشاريع وأفكار المجتمع المدني',
     'project-competition', '5eed0001-0000-4000-8000-000000000001'::uuid, 'AFKAR 3',
     'grant-agreement', 'AFKAR3-DEMO-001', NULL,
     '2016-01-01'::date, '2018-12-31'::date, NULL::numeric, NULL, 'completed',
     '{beirut,mount-lebanon,north,akkar,beqaa,baalbek-hermel,south,nabatieh}'::governorate[],
     'Third phase of the AFKAR civil society support programme. Projects and ideas were solicited '
     'from organizations through a competition; the planning took the organizations'' needs, '
     'problems and suggestions into account, the projects were carried out in coordination with the '
     'relevant government and local authorities, and training courses addressed both sectors. The '
     'phase produced a dialogue and partnership platform of organizations and ministries, and its two '
     'documents: the citizen charter and the partnership charter.'),
    ('5eed0004-0000-4000-8000-000000000002',
     'Social services contract between the Ministry of Social Affairs and the National Union of NGOs',
     'عقد خدمات اجتماعية بين وزارة الشؤون الاجتماعية والاتحاد الوطني للجمعيات الأهلية',
     'service-contract', '5eed0001-0000-4000-8000-000000000003', NULL,
     'contract', 'MOSA-DEMO-2019/001',
     'Annual contract between the Ministry of Social Affairs and a non-governmental organization '
     'for the delivery of social services.',
     '2019-01-01', '2020-12-31', 150000000.00, 'LBP', 'active',
     '{beirut,mount-lebanon}',
     'Services delivered by member associations of the National Union of NGOs under contract with '
     'the Ministry of Social Affairs, in the tradition of partnership between the state and private '
     'social organizations on which the ministry was founded.'),
    ('5eed0004-0000-4000-8000-000000000003',
     'Consultation on activating the Economic and Social Council',
     'مشاورات حول تفعيل المجلس الاقتصادي والاجتماعي',
     'consultation', '5eed0001-0000-4000-8000-000000000004', NULL,
     'informal', NULL, NULL,
     '2020-02-01', '2020-12-31', NULL, NULL, 'planned',
     '{beirut}',
     'Following the workshop''s first recommendation, civil society organizations propose how the '
     'Economic and Social Council and other consultative institutions can be activated, and how '
     'partnership can be built into policy-making.'),
    ('5eed0004-0000-4000-8000-000000000004',
     'Follow-up committee for communication on the partnership charter',
     'لجنة المتابعة للتواصل حول ميثاق الشراكة',
     'consultation', '5eed0001-0000-4000-8000-000000000002', 'AFKAR 3',
     'informal', NULL, NULL,
     '2019-12-04', NULL, NULL, NULL, 'active',
     '{beirut}',
     'Committee set up by the workshop «The Charter of Partnership between the Civil Society and the '
     'Public Sector» (American University of Beirut, 04 December 2019) to follow up its '
     'recommendations: the Office of the Minister of State for Administrative Reform (AFKAR '
     'programme) with the Arab NGO Network for Development, the National Union of NGOs, the Issam '
     'Fares Institute for Public Policy and ESCWA.'),
    ('5eed0004-0000-4000-8000-000000000005',
     'Annual contribution to a youth and sports club',
     'مساهمة سنوية لنادي شباب ورياضة',
     'financial-contribution', '5eed0001-0000-4000-8000-000000000005', NULL,
     'decree', 'MOYS-DEMO-2019/17', NULL,
     '2019-01-01', '2019-12-31', 25000000.00, 'LBP', 'completed',
     '{mount-lebanon}',
     'Example of the financial contributions that ministries make to youth and sports clubs.'),
    ('5eed0004-0000-4000-8000-000000000006',
     'Capacity building on public policies for civil society and public servants',
     'بناء قدرات المجتمع المدني والقطاع العام في السياسات العامة',
     'non-financial-aid', '5eed0001-0000-4000-8000-000000000001', NULL,
     'mou', 'OMSAR-DEMO-MOU-2020/01', NULL,
     '2020-03-01', '2021-02-28', NULL, NULL, 'planned',
     '{beirut,north,south,beqaa}',
     'Training on public policies and issues for organizations and civil servants together, as '
     'recommended by the workshop, with a human rights approach and with attention to the '
     'production of knowledge within civil society.')
),
created AS (
    INSERT INTO partnerships (id, title, title_ar, type_id, ministry_id, programme, instrument,
                              instrument_reference, legal_basis, start_date, end_date, amount,
                              currency, status, governorates, description)
    SELECT p.id, p.title, p.title_ar, type_ids.id, p.ministry_id, p.programme, p.instrument,
           p.instrument_reference, p.legal_basis, p.start_date, p.end_date, p.amount, p.currency,
           p.status, p.governorates, p.description
    FROM p JOIN type_ids ON type_ids.code = p.type_code
    ORDER BY p.id
    ON CONFLICT (id) DO NOTHING
    RETURNING id
),
parties (partnership_id, organization_id, role, position) AS (
    VALUES
    -- AFKAR 3 competition
    ('5eed0004-0000-4000-8000-000000000001'::uuid, '5eed0002-0000-4000-8000-000000000004'::uuid, 'implementer', 0),
    ('5eed0004-0000-4000-8000-000000000001', '5eed0002-0000-4000-8000-000000000006', 'implementer', 1),
    ('5eed0004-0000-4000-8000-000000000001', '5eed0002-0000-4000-8000-000000000001', 'partner', 2),
    -- Ministry of Social Affairs contract
    ('5eed0004-0000-4000-8000-000000000002', '5eed0002-0000-4000-8000-000000000002', 'lead', 0),
    -- Economic and Social Council consultation
    ('5eed0004-0000-4000-8000-000000000003', '5eed0002-0000-4000-8000-000000000001', 'lead', 0),
    ('5eed0004-0000-4000-8000-000000000003', '5eed0002-0000-4000-8000-000000000004', 'partner', 1),
    -- follow-up committee for communication
    ('5eed0004-0000-4000-8000-000000000004', '5eed0002-0000-4000-8000-000000000001', 'lead', 0),
    ('5eed0004-0000-4000-8000-000000000004', '5eed0002-0000-4000-8000-000000000002', 'partner', 1),
    ('5eed0004-0000-4000-8000-000000000004', '5eed0002-0000-4000-8000-000000000003', 'partner', 2),
    ('5eed0004-0000-4000-8000-000000000004', '5eed0002-0000-4000-8000-000000000005', 'partner', 3),
    -- contribution to a club
    ('5eed0004-0000-4000-8000-000000000005', '5eed0002-0000-4000-8000-000000000007', 'lead', 0),
    -- capacity building
    ('5eed0004-0000-4000-8000-000000000006', '5eed0002-0000-4000-8000-000000000003', 'implementer', 0),
    ('5eed0004-0000-4000-8000-000000000006', '5eed0002-0000-4000-8000-000000000005', 'funder', 1),
    ('5eed0004-0000-4000-8000-000000000006', '5eed0002-0000-4000-8000-000000000002', 'partner', 2)
)
INSERT INTO partnership_organizations (partnership_id, organization_id, role, position)
SELECT parties.partnership_id, parties.organization_id, parties.role, parties.position
FROM parties JOIN created ON created.id = parties.partnership_id
ORDER BY parties.partnership_id, parties.position
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------- charters
INSERT INTO charters (id, kind, title, title_ar, version_label, adopted_on, status, summary, sections,
                      document_url)
VALUES
    ('5eed0005-0000-4000-8000-000000000001', 'partnership',
     'Charter of Partnership between the Civil Society and the Public Sector',
     'ميثاق الشراكة بين المجتمع المدني والقطاع العام',
     'AFKAR 3', '2018-10-01', 'adopted',
     'Reference framework of the AFKAR dialogue and partnership platform, where representatives of '
     'AFKAR organizations and of ministries meet. It treats partnership as a translation of the social '
     'contract that promotes citizenship and what citizens hold in common.',
     jsonb_build_array(
         jsonb_build_object('heading', 'A reference framework',
             'body', 'The charter is a reference framework for the public sector and civil society. '
                     'Partnership is a translation of the social contract: it promotes citizenship '
                     'and the features that citizens share.',
             'heading_ar', 'إطار مرجعي',
             'body_ar', 'الميثاق إطار مرجعي للقطاع العام والمجتمع المدني. الشراكة ترجمة للعقد '
                        'الاجتماعي: تعزز المواطنة والسمات المشتركة بين المواطنين.',
             'heading_fr', 'Un cadre de référence',
             'body_fr', 'La charte est un cadre de référence pour le secteur public et la société '
                        'civile. Le partenariat traduit le contrat social : il promeut la '
                        'citoyenneté et ce que les citoyens ont en commun.'),
         jsonb_build_object('heading', 'Common attitudes and behaviours',
             'body', 'The parties aim at common attitudes and behaviours in their dealings with each '
                     'other and with citizens, moving from participation to real partnership.'),
         jsonb_build_object('heading', 'Protecting the rights of citizens',
             'body', 'Every partnership serves the protection of citizens'' rights and follows a '
                     'human rights approach based on human rights principles.'),
         jsonb_build_object('heading', 'Milestones for public services and citizen participation',
             'body', 'The parties set milestones for improving the quality of public services and '
                     'for enhancing citizen participation in public affairs, and report on them.'),
         jsonb_build_object('heading', 'Criteria for strengthening partnership',
             'body', 'Partnership is strengthened by clear legal and regulatory frameworks, by '
                     'coordination with the relevant government and local authorities, and by '
                     'monitoring and evaluation of each partnership and follow-up of its contracts.'),
         jsonb_build_object('heading', 'Compliance with international standards',
             'body', 'Partnerships observe the international standards that Lebanon has committed '
                     'to, in particular on human rights and good governance.'),
         jsonb_build_object('heading', 'Conditions for the participation of organizations',
             'body', 'Organizations take part on the basis of their legal registration, their '
                     'transparency, their specialization and their capacity on public policies.'),
         jsonb_build_object('heading', 'Tools',
             'body', 'The main tools of partnership include the application of the right of access '
                     'to information, dialogue on public policies, joint training of both sectors, '
                     'and a dialogue and partnership platform.')
     ),
     NULL),
    ('5eed0005-0000-4000-8000-000000000002', 'citizen',
     'Citizen Charter',
     'ميثاق المواطن',
     'AFKAR 3', '2018-10-01', 'adopted',
     'What citizens can expect from the public administration, and what the administration expects '
     'from them; the second document of the AFKAR dialogue and partnership platform.',
     jsonb_build_array(
         jsonb_build_object('heading', 'Purpose',
             'body', 'The charter states the rights of citizens towards the public administration and '
                     'the commitments the administration makes to improve the quality of its services.'),
         jsonb_build_object('heading', 'Information',
             'body', 'Every citizen may know the procedures, documents, fees and time limits of each '
                     'service, and may obtain the information held by the administration under the '
                     'right of access to information.'),
         jsonb_build_object('heading', 'Equal and respectful treatment',
             'body', 'Citizens are served without discrimination, courteously, within the announced '
                     'time limits, and are told the reasons for any refusal.'),
         jsonb_build_object('heading', 'Participation',
             'body', 'Citizens and their organizations are consulted on the services that concern '
                     'them and may propose improvements.'),
         jsonb_build_object('heading', 'Complaints and suggestions',
             'body', 'Each administration keeps a channel for complaints and suggestions, answers '
                     'them, and publishes what it changed as a result.'),
         jsonb_build_object('heading', 'Responsibilities of the citizen',
             'body', 'Citizens provide accurate information, respect the procedures and the staff, '
                     'and take care of public property.')
     ),
     NULL)
ON CONFLICT (id) DO NOTHING;

-- ---------------------------------------------------------------- charter signatories
INSERT INTO charter_signatories (id, charter_id, party_type, party_id, signed_on, signed_by)
VALUES
    -- partnership charter
    ('5eed0006-0000-4000-8000-000000000001', '5eed0005-0000-4000-8000-000000000001',
     'ministry', '5eed0001-0000-4000-8000-000000000001', '2018-10-01', NULL),
    ('5eed0006-0000-4000-8000-000000000002', '5eed0005-0000-4000-8000-000000000001',
     'ministry', '5eed0001-0000-4000-8000-000000000002', '2018-10-01', 'Youmna Chacar Ghorayeb'),
    ('5eed0006-0000-4000-8000-000000000003', '5eed0005-0000-4000-8000-000000000001',
     'ministry', '5eed0001-0000-4000-8000-000000000003', '2018-11-15', NULL),
    ('5eed0006-0000-4000-8000-000000000004', '5eed0005-0000-4000-8000-000000000001',
     'organization', '5eed0002-0000-4000-8000-000000000001', '2018-10-01', NULL),
    ('5eed0006-0000-4000-8000-000000000005', '5eed0005-0000-4000-8000-000000000001',
     'organization', '5eed0002-0000-4000-8000-000000000002', '2018-10-01', NULL),
    ('5eed0006-0000-4000-8000-000000000006', '5eed0005-0000-4000-8000-000000000001',
     'organization', '5eed0002-0000-4000-8000-000000000004', '2019-02-20', NULL),
    ('5eed0006-0000-4000-8000-000000000007', '5eed0005-0000-4000-8000-000000000001',
     'organization', '5eed0002-0000-4000-8000-000000000006', '2019-02-20', NULL),
    ('5eed0006-0000-4000-8000-000000000008', '5eed0005-0000-4000-8000-000000000001',
     'organization', '5eed0002-0000-4000-8000-000000000003', '2019-12-04', NULL),
    -- citizen charter
    ('5eed0006-0000-4000-8000-000000000009', '5eed0005-0000-4000-8000-000000000002',
     'ministry', '5eed0001-0000-4000-8000-000000000001', '2018-10-01', NULL),
    ('5eed0006-0000-4000-8000-00000000000a', '5eed0005-0000-4000-8000-000000000002',
     'ministry', '5eed0001-0000-4000-8000-000000000002', '2018-10-01', 'Youmna Chacar Ghorayeb'),
    ('5eed0006-0000-4000-8000-00000000000b', '5eed0005-0000-4000-8000-000000000002',
     'organization', '5eed0002-0000-4000-8000-000000000001', '2018-10-01', NULL),
    ('5eed0006-0000-4000-8000-00000000000c', '5eed0005-0000-4000-8000-000000000002',
     'organization', '5eed0002-0000-4000-8000-000000000002', '2018-12-10', NULL),
    ('5eed0006-0000-4000-8000-00000000000d', '5eed0005-0000-4000-8000-000000000002',
     'organization', '5eed0002-0000-4000-8000-000000000004', '2019-02-20', NULL)
ON CONFLICT (id) DO NOTHING;

-- ---------------------------------------------------------------- monitoring records
-- The findings echo the weaknesses the survey found: weak monitoring and evaluation, missing
-- regulatory frameworks, and a weak follow-up of contracts.
INSERT INTO monitoring_records (id, partnership_id, period_start, period_end, indicator, unit,
                                baseline, target, actual, rating, findings, recommendations,
                                status, verified_at)
VALUES
    ('5eed0007-0000-4000-8000-000000000001', '5eed0004-0000-4000-8000-000000000001',
     '2017-01-01', '2017-12-31',
     'Projects selected through the competition and started', 'projects',
     0, 30, 28, 'on-track',
     'Planning took the organizations'' needs, problems and suggestions into account; the projects '
     'started in coordination with the relevant government and local authorities.',
     'Keep the joint training courses for both sectors in the next phase.',
     'verified', '2018-02-15 10:00:00+02'),
    ('5eed0007-0000-4000-8000-000000000002', '5eed0004-0000-4000-8000-000000000001',
     '2018-01-01', '2018-12-31',
     'Funded projects with a monitoring and evaluation plan', 'percent',
     20, 80, 45, 'at-risk',
     'Monitoring and evaluation remain weak: fewer than half of the projects measured their results '
     'against a baseline.',
     'Make a monitoring and evaluation plan a condition of the grant agreement.',
     'submitted', NULL),
    ('5eed0007-0000-4000-8000-000000000003', '5eed0004-0000-4000-8000-000000000002',
     '2019-01-01', '2019-06-30',
     'Contract deliverables checked by the ministry', 'percent',
     0, 100, 40, 'off-track',
     'There is no regulatory framework for following up contracts: deliverables are checked when '
     'payments are due, not against the terms of the contract.',
     'Adopt a written procedure for the follow-up of contracts with associations.',
     'submitted', NULL),
    ('5eed0007-0000-4000-8000-000000000004', '5eed0004-0000-4000-8000-000000000002',
     '2019-01-01', '2019-12-31',
     'Beneficiaries served', 'persons',
     0, 2000, 1850, 'on-track',
     'Services reached most of the planned beneficiaries in both governorates.',
     NULL,
     'draft', NULL),
    ('5eed0007-0000-4000-8000-000000000005', '5eed0004-0000-4000-8000-000000000004',
     '2019-12-04', '2020-03-31',
     'Committee meetings held', 'meetings',
     0, 4, 1, 'not-rated',
     'The committee was formed at the workshop of 04 December 2019.',
     'Agree on a calendar of meetings and on who reports to the platform.',
     'draft', NULL),
    ('5eed0007-0000-4000-8000-000000000006', '5eed0004-0000-4000-8000-000000000005',
     '2019-01-01', '2019-12-31',
     'Contribution reported on by the club', 'percent',
     0, 100, 0, 'off-track',
     'No regulatory framework requires the association to report on the use of the contribution; '
     'the ministry has no means to ask for it.',
     'Attach reporting conditions to financial contributions.',
     'submitted', NULL)
ON CONFLICT (id) DO NOTHING;
