import { Module } from '@nestjs/common';
import { GuardedTransactionRunner } from './guarded-transaction';
import { RunLifecycle } from './run-lifecycle';

/** The life of a data-changing run, shared by the migration and the revert: lock, transaction, ending. */
@Module({
  providers: [GuardedTransactionRunner, RunLifecycle],
  exports: [GuardedTransactionRunner, RunLifecycle],
})
export class RunEngineModule {}
