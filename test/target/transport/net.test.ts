import { createNetTransport } from '../../../src/target/transport/net.js';
import { describeTransport } from './transport-contract.js';

describeTransport('net', createNetTransport);
