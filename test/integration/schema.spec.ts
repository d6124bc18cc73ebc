import { Client } from 'pg';
import { MIGRATIONS } from '../../src/migrations';
import { useTestSuite } from '../helpers/suite';

interface ColumnRow {
  column_name: string;
  data_type: string;
  character_maximum_length: number | null;
  is_nullable: 'YES' | 'NO';
  column_default: string | null;
}

/** The schema contract: every column of users and assessments, in order. */
const USERS_COLUMNS: ColumnRow[] = [
  { column_name: 'id', data_type: 'integer', character_maximum_length: null, is_nullable: 'NO', column_default: "nextval('users_id_seq'::regclass)" },
  { column_name: 'email', data_type: 'character varying', character_maximum_length: 254, is_nullable: 'NO', column_default: null },
];

const ASSESSMENTS_COLUMNS: ColumnRow[] = [
  { column_name: 'id', data_type: 'integer', character_maximum_length: null, is_nullable: 'NO', column_default: "nextval('assessments_id_seq'::regclass)" },
  { column_name: 'user_id', data_type: 'integer', character_maximum_length: null, is_nullable: 'NO', column_default: null },
  { column_name: 'sport', data_type: 'character varying', character_maximum_length: 64, is_nullable: 'YES', column_default: null },
  { column_name: 'age', data_type: 'integer', character_maximum_length: null, is_nullable: 'YES', column_default: null },
  { column_name: 'experience', data_type: 'character varying', character_maximum_length: 32, is_nullable: 'YES', column_default: null },
  { column_name: 'equipment', data_type: 'jsonb', character_maximum_length: null, is_nullable: 'YES', column_default: null },
  { column_name: 'equipment_items', data_type: 'jsonb', character_maximum_length: null, is_nullable: 'NO', column_default: "'[]'::jsonb" },
  { column_name: 'equipment_reassessment_required', data_type: 'boolean', character_maximum_length: null, is_nullable: 'NO', column_default: 'false' },
  { column_name: 'created_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'NO', column_default: 'now()' },
  { column_name: 'updated_at', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'NO', column_default: 'now()' },
];

/** The SQLSTATE a statement fails with (on a plain pg client, so that TypeORM does not log the expected failure). */
async function sqlStateOf(url: string, sql: string, parameters: unknown[] = []): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql, parameters);
  } catch (error) {
    return String((error as { code?: unknown }).code);
  } finally {
    await client.end();
  }
  throw new Error(`expected ${sql} to fail`);
}

describe('schema migrations on a fresh database', () => {
  const { db } = useTestSuite({ schema: false });

  const columnsOf = (table: string): Promise<ColumnRow[]> =>
    db.dataSource.query(
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = $1
        ORDER BY ordinal_position`,
      [table],
    );

  const tables = async (): Promise<string[]> =>
    (
      await db.dataSource.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
      )
    ).map((row: { table_name: string }) => row.table_name);

  /** Every constraint of the two tables: kind, table, columns, and for foreign keys the target and delete rule. */
  const constraints = (): Promise<unknown[]> =>
    db.dataSource.query(
      `SELECT tc.table_name, tc.constraint_type,
              array_to_string(array_agg(DISTINCT kcu.column_name), ',') AS columns,
              max(ccu.table_name) FILTER (WHERE tc.constraint_type = 'FOREIGN KEY') AS references_table,
              max(ccu.column_name) FILTER (WHERE tc.constraint_type = 'FOREIGN KEY') AS references_column,
              max(rc.delete_rule) AS delete_rule
         FROM information_schema.table_constraints tc
         JOIN information_schema.key_column_usage kcu
           ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name
         LEFT JOIN information_schema.constraint_column_usage ccu
           ON ccu.constraint_schema = tc.constraint_schema AND ccu.constraint_name = tc.constraint_name
         LEFT JOIN information_schema.referential_constraints rc
           ON rc.constraint_schema = tc.constraint_schema AND rc.constraint_name = tc.constraint_name
        WHERE tc.table_schema = 'public' AND tc.table_name IN ('users', 'assessments')
          AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
        GROUP BY tc.table_name, tc.constraint_type, tc.constraint_name
        ORDER BY tc.table_name, tc.constraint_type`,
    );

  describe('up', () => {
    beforeAll(async () => {
      expect(await tables()).toEqual([]);
      const applied = await db.dataSource.runMigrations({ transaction: 'each' });
      expect(applied.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
    });

    it('creates exactly users, assessments, the audit trail and the migrations table', async () => {
      expect(await tables()).toEqual([
        'assessments',
        'equipment_migration_changes',
        'equipment_migration_errors',
        'equipment_migration_runs',
        'typeorm_migrations',
        'users',
      ]);
    });

    it('users has exactly the contract columns', async () => {
      expect(await columnsOf('users')).toEqual(USERS_COLUMNS);
    });

    it('assessments has exactly the contract columns', async () => {
      expect(await columnsOf('assessments')).toEqual(ASSESSMENTS_COLUMNS);
    });

    it('has the primary keys, the unique email and the cascading foreign key', async () => {
      expect(await constraints()).toEqual([
        { table_name: 'assessments', constraint_type: 'FOREIGN KEY', columns: 'user_id', references_table: 'users', references_column: 'id', delete_rule: 'CASCADE' },
        { table_name: 'assessments', constraint_type: 'PRIMARY KEY', columns: 'id', references_table: null, references_column: null, delete_rule: null },
        { table_name: 'users', constraint_type: 'PRIMARY KEY', columns: 'id', references_table: null, references_column: null, delete_rule: null },
        { table_name: 'users', constraint_type: 'UNIQUE', columns: 'email', references_table: null, references_column: null, delete_rule: null },
      ]);
    });

    it('the id columns are serial: backed by a sequence owned by the column', async () => {
      const owned: { table_name: string; sequence: string | null }[] = await db.dataSource.query(
        `SELECT t AS table_name, pg_get_serial_sequence(t, 'id') AS sequence FROM unnest(ARRAY['assessments', 'users']) AS t ORDER BY t`,
      );
      expect(owned).toEqual([
        { table_name: 'assessments', sequence: 'public.assessments_id_seq' },
        { table_name: 'users', sequence: 'public.users_id_seq' },
      ]);
    });

    it('fills the defaults on insert', async () => {
      const [user] = await db.dataSource.query(`INSERT INTO users (email) VALUES ('defaults@example.com') RETURNING id`);
      expect(typeof user.id).toBe('number');
      const [row] = await db.dataSource.query(
        `INSERT INTO assessments (user_id) VALUES ($1)
         RETURNING sport, age, experience, equipment, equipment_items, equipment_reassessment_required,
                   created_at IS NOT NULL AND updated_at IS NOT NULL AS stamped`,
        [user.id],
      );
      expect(row).toEqual({
        sport: null,
        age: null,
        experience: null,
        equipment: null,
        equipment_items: [],
        equipment_reassessment_required: false,
        stamped: true,
      });
    });

    it('rejects a duplicate, missing or too long email, and a missing or unknown user', async () => {
      await db.dataSource.query(`INSERT INTO users (email) VALUES ('unique@example.com')`);
      expect(await sqlStateOf(db.url, `INSERT INTO users (email) VALUES ('unique@example.com')`)).toBe('23505'); // unique_violation
      expect(await sqlStateOf(db.url, `INSERT INTO users (email) VALUES (NULL)`)).toBe('23502'); // not_null_violation
      expect(await sqlStateOf(db.url, `INSERT INTO users (email) VALUES ($1)`, ['x'.repeat(255)])).toBe('22001'); // too long
      expect(await sqlStateOf(db.url, `INSERT INTO assessments (user_id) VALUES (-1)`)).toBe('23503'); // foreign_key_violation
      expect(await sqlStateOf(db.url, `INSERT INTO assessments (user_id) VALUES (NULL)`)).toBe('23502');
      // 254 characters fit.
      await db.dataSource.query(`INSERT INTO users (email) VALUES ($1)`, ['y'.repeat(254)]);
    });

    it('deleting a user deletes its assessments, and only its own', async () => {
      const [doomed] = await db.dataSource.query(`INSERT INTO users (email) VALUES ('doomed@example.com') RETURNING id`);
      const [kept] = await db.dataSource.query(`INSERT INTO users (email) VALUES ('kept@example.com') RETURNING id`);
      await db.dataSource.query(
        `INSERT INTO assessments (user_id, equipment) VALUES ($1, '"full_gym"'), ($1, '["no_equipment"]'), ($2, '"full_gym"')`,
        [doomed.id, kept.id],
      );
      await db.dataSource.query(`DELETE FROM users WHERE id = $1`, [doomed.id]);
      const remaining: { user_id: number; n: number }[] = await db.dataSource.query(
        `SELECT user_id, count(*)::int AS n FROM assessments WHERE user_id IN ($1, $2) GROUP BY user_id`,
        [doomed.id, kept.id],
      );
      expect(remaining).toEqual([{ user_id: kept.id, n: 1 }]);
    });

    it('the entities and the migrations agree: the schema builder has nothing to change', async () => {
      const sql = await db.dataSource.driver.createSchemaBuilder().log();
      expect(sql.upQueries.map((q) => q.query)).toEqual([]);
    });

    it('no migration is pending', async () => {
      expect(await db.dataSource.showMigrations()).toBe(false);
    });
  });

  describe('down', () => {
    beforeAll(async () => {
      for (let i = 0; i < MIGRATIONS.length; i += 1) await db.dataSource.undoLastMigration({ transaction: 'each' });
    });

    it('drops both tables and their sequences', async () => {
      expect(await tables()).toEqual(['typeorm_migrations']);
      const sequences = await db.dataSource.query(
        `SELECT sequence_name FROM information_schema.sequences
          WHERE sequence_schema = 'public' AND sequence_name IN ('users_id_seq', 'assessments_id_seq')`,
      );
      expect(sequences).toEqual([]);
    });

    it('records no applied migration', async () => {
      expect(await db.dataSource.query(`SELECT name FROM typeorm_migrations`)).toEqual([]);
      expect(await db.dataSource.showMigrations()).toBe(true);
    });

    it('can go up again to the same schema', async () => {
      await db.dataSource.runMigrations({ transaction: 'each' });
      expect(await columnsOf('users')).toEqual(USERS_COLUMNS);
      expect(await columnsOf('assessments')).toEqual(ASSESSMENTS_COLUMNS);
      expect((await db.dataSource.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
    });
  });
});

describe('audit trail migration: the changes lose the per-row foreign key to their run, and get it back', () => {
  const { db } = useTestSuite({ schema: false });
  const RUN = '00000000-0000-4000-8000-000000000001';
  const GONE = '00000000-0000-4000-8000-000000000002';

  const foreignKeys = async (): Promise<string[]> =>
    (
      await db.dataSource.query(
        `SELECT conname FROM pg_constraint WHERE conrelid = 'equipment_migration_changes'::regclass AND contype = 'f' ORDER BY conname`,
      )
    ).map((row: { conname: string }) => row.conname);

  const insertChange = (runId: string, assessmentId: number) =>
    `INSERT INTO equipment_migration_changes VALUES ('${runId}', ${assessmentId}, '["full_gym"]', '[]', false, '"full_gym"', '[]', false)`;

  const changes = async () =>
    db.dataSource.query(`SELECT run_id, assessment_id, previous_equipment, new_equipment FROM equipment_migration_changes ORDER BY run_id, assessment_id`);

  beforeAll(async () => {
    await db.dataSource.runMigrations({ transaction: 'each' });
    // The migrations after the foreign-key one are undone first: this block is about that one.
    while ((await db.dataSource.query(`SELECT name FROM typeorm_migrations ORDER BY id DESC LIMIT 1`))[0].name !== 'DropAuditChangesRunForeignKey1796300000000') {
      await db.dataSource.undoLastMigration({ transaction: 'each' });
    }
    await db.dataSource.query(
      `INSERT INTO equipment_migration_runs (id, kind, status, started_at, options, database_user, host_name, tool_version)
       VALUES ('${RUN}', 'migrate', 'completed', now(), '{}', 'u', 'h', 'v')`,
    );
    await db.dataSource.query(insertChange(RUN, 1));
  });

  it('up: no foreign key, the composite primary key stays', async () => {
    expect(await foreignKeys()).toEqual([]);
    expect(await sqlStateOf(db.url, insertChange(RUN, 1))).toBe('23505'); // one row per run and assessment
    // The database no longer checks the run; the run's own transaction and the tests do.
    await db.dataSource.query(insertChange(GONE, 2));
  });

  it('down: changes whose run is gone are removed, the others kept, and the cascading foreign key is back', async () => {
    await db.dataSource.undoLastMigration({ transaction: 'each' });
    expect(await foreignKeys()).toEqual(['FK_eac9b8479e0cdfa3b3429d11f83']);
    expect(await changes()).toEqual([{ run_id: RUN, assessment_id: 1, previous_equipment: ['full_gym'], new_equipment: 'full_gym' }]);
    expect(await sqlStateOf(db.url, insertChange(GONE, 3))).toBe('23503');
    expect((await db.dataSource.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query)).toContain(
      'ALTER TABLE "equipment_migration_changes" DROP CONSTRAINT "FK_eac9b8479e0cdfa3b3429d11f83"',
    );
  });

  it('up again: the recorded changes are kept', async () => {
    await db.dataSource.runMigrations({ transaction: 'each' });
    expect(await foreignKeys()).toEqual([]);
    expect(await changes()).toEqual([{ run_id: RUN, assessment_id: 1, previous_equipment: ['full_gym'], new_equipment: 'full_gym' }]);
    expect((await db.dataSource.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
  });
});

describe('online-run migration: mode, scope, checkpoint, error rows and change user ids, and back', () => {
  const { db } = useTestSuite({ schema: false });
  const columns = async (table: string): Promise<string[]> =>
    (
      await db.dataSource.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name`, [table])
    ).map((row: { column_name: string }) => row.column_name);

  beforeAll(async () => {
    await db.dataSource.runMigrations({ transaction: 'each' });
  });

  it('up: runs gain mode, scope and checkpoint; changes gain user_id; the errors table exists', async () => {
    expect(await columns('equipment_migration_runs')).toEqual(expect.arrayContaining(['mode', 'scope', 'checkpoint']));
    expect(await columns('equipment_migration_changes')).toContain('user_id');
    expect(await columns('equipment_migration_errors')).toEqual([
      'assessment_id',
      'original_equipment',
      'original_items',
      'reason',
      'run_id',
      'user_email',
      'user_id',
    ]);
    expect((await db.dataSource.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
  });

  it('down removes exactly those, up again restores them', async () => {
    // The migrations after this one are undone first: this block is about this one.
    while ((await db.dataSource.query(`SELECT name FROM typeorm_migrations ORDER BY id DESC LIMIT 1`))[0].name !== 'AddOnlineRunProgress1796400000000') {
      await db.dataSource.undoLastMigration({ transaction: 'each' });
    }
    await db.dataSource.undoLastMigration({ transaction: 'each' });
    expect(await columns('equipment_migration_runs')).not.toEqual(expect.arrayContaining(['mode']));
    expect(await columns('equipment_migration_changes')).not.toContain('user_id');
    expect(await columns('equipment_migration_errors')).toEqual([]);
    await db.dataSource.runMigrations({ transaction: 'each' });
    expect((await db.dataSource.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
  });
});
