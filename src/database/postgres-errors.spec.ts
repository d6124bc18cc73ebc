import { fatalKind, isRowLevelError, sqlState } from './postgres-errors';

const pgError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('postgres errors', () => {
  it('reads the SQLSTATE from a driver error or a TypeORM QueryFailedError', () => {
    expect(sqlState(pgError('23514'))).toBe('23514');
    expect(sqlState({ driverError: { code: 'P0001' } })).toBe('P0001');
    expect(sqlState(new Error('no code'))).toBeUndefined();
    expect(sqlState(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBeUndefined();
  });

  it.each(['22001', '23502', '23514', 'P0001'])('%s is the row’s error', (code) => {
    expect(isRowLevelError(pgError(code))).toBe(true);
  });

  it.each(['55P03', '57014', '40P01', '57P01', '08006', '42P01'])('%s ends the run', (code) => {
    expect(isRowLevelError(pgError(code))).toBe(false);
  });

  it.each([
    [pgError('55P03', 'canceling statement due to lock timeout'), 'lock-timeout'],
    [pgError('57014', 'canceling statement due to statement timeout'), 'statement-timeout'],
    [pgError('57P01', 'terminating connection due to administrator command'), 'connection-lost'],
    [new Error('Connection terminated unexpectedly'), 'connection-lost'],
    [pgError('40P01', 'deadlock detected'), 'deadlock'],
    [pgError('42P01', 'relation does not exist'), 'other'],
  ])('classifies %s', (error, kind) => {
    expect(fatalKind(error)).toBe(kind);
  });
});
