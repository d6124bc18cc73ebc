import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BASE_DATA_SOURCE_OPTIONS } from './data-source-options';
import { DatabaseConnection } from './database-connection.service';

@Global()
@Module({
  imports: [
    // The connection target is only known when a command runs (it may start an embedded server), so the
    // DataSource is created here and initialised by DatabaseConnection.open().
    TypeOrmModule.forRootAsync({ useFactory: () => ({ ...BASE_DATA_SOURCE_OPTIONS, manualInitialization: true }) }),
  ],
  providers: [DatabaseConnection],
  exports: [DatabaseConnection],
})
export class DatabaseModule {}
